using MegaFlow.Environments;
using MegaFlow.Environments.Docker.Limits;

namespace MegaFlow.Docker.Tests;

/// <summary>Which limit a command ran into, from cgroup counters fed by the test instead of the host.</summary>
public sealed class LimitClassifierTests
{
    private readonly Dictionary<string, (long Oom, long PidsMax)?> _counters = new();
    private readonly LimitClassifier _limits;

    public LimitClassifierTests() => _limits = new LimitClassifier(id => _counters.GetValueOrDefault(id));

    [Fact]
    public void No_counter_growth_is_no_limit()
    {
        _counters["c"] = (0, 0);
        Assert.Null(_limits.Classify("c"));
        Assert.Null(_limits.Classify("c"));
    }

    [Fact]
    public void An_oom_kill_is_the_memory_limit_once()
    {
        _counters["c"] = (1, 0);
        Assert.Equal(ResourceLimit.Memory, _limits.Classify("c"));
        Assert.Null(_limits.Classify("c")); // the next command did not run into it
    }

    [Fact]
    public void A_refused_fork_is_the_pids_limit()
    {
        _counters["c"] = (0, 0);
        Assert.Null(_limits.Classify("c"));
        _counters["c"] = (0, 12);
        Assert.Equal(ResourceLimit.Pids, _limits.Classify("c"));
    }

    [Fact]
    public void Memory_wins_when_both_counters_grew()
    {
        _counters["c"] = (2, 5);
        Assert.Equal(ResourceLimit.Memory, _limits.Classify("c"));
    }

    [Fact]
    public void Unreadable_counters_classify_nothing()
    {
        _counters["c"] = null;
        Assert.Null(_limits.Classify("c"));
    }

    [Fact]
    public void A_restarted_container_counts_from_zero_again()
    {
        _counters["c"] = (3, 0);
        Assert.Equal(ResourceLimit.Memory, _limits.Classify("c"));
        _limits.Forget("c");
        _counters["c"] = (1, 0); // the new cgroup's first OOM kill
        Assert.Equal(ResourceLimit.Memory, _limits.Classify("c"));
    }

    [Fact]
    public void Containers_are_counted_apart()
    {
        _counters["a"] = (1, 0);
        _counters["b"] = (0, 0);
        Assert.Equal(ResourceLimit.Memory, _limits.Classify("a"));
        Assert.Null(_limits.Classify("b"));
    }

    [Fact]
    public void Notes_name_the_limit_the_environment_and_the_timeout()
    {
        Assert.Contains("memory limit reached in env-1", LimitClassifier.Note(ResourceLimit.Memory, "env-1"));
        Assert.Contains("process limit (pids) reached in env-1", LimitClassifier.Note(ResourceLimit.Pids, "env-1"));
        Assert.Contains("killed after its timeout of 2.5s", LimitClassifier.TimeoutNote(TimeSpan.FromSeconds(2.5)));
    }
}
