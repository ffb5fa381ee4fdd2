using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Tests.Tasks;

public class TaskSpecValidatorTests
{
    private static IReadOnlyList<ValidationError> Validate(TaskSpec spec) => TaskSpecValidator.Validate(spec);

    private static ValidationError SingleErrorFor(TaskSpec spec, string field)
    {
        var errors = Validate(spec);
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        return error;
    }

    [Theory]
    [InlineData("ephemeral")]
    [InlineData("persistent")]
    [InlineData("Persistent")]
    public void A_complete_spec_passes(string mode)
    {
        Assert.Empty(Validate(Specs.Valid(mode: mode)));
    }

    [Fact]
    public void An_empty_action_list_is_allowed()
    {
        Assert.Empty(Validate(Specs.Valid() with { Actions = [] }));
    }

    [Fact]
    public void Zero_infrastructure_retries_is_allowed()
    {
        Assert.Empty(Validate(Specs.Valid() with { MaxInfraRetries = 0 }));
    }

    [Fact]
    public void A_missing_spec_is_reported()
    {
        var error = Assert.Single(TaskSpecValidator.Validate(null));
        Assert.Equal("spec", error.Field);
    }

    public static TheoryData<string, TaskSpec> MissingRequiredFields => new()
    {
        { "taskId", Specs.Valid() with { TaskId = null } },
        { "taskId", Specs.Valid() with { TaskId = "   " } },
        { "mode", Specs.Valid() with { Mode = null } },
        { "mode", Specs.Valid() with { Mode = "" } },
        { "image", Specs.Valid() with { Image = null } },
        { "image", Specs.Valid() with { Image = " " } },
        { "scoreCommand", Specs.Valid() with { ScoreCommand = null } },
        { "scoreCommand", Specs.Valid() with { ScoreCommand = "" } },
        { "actions", Specs.Valid() with { Actions = null } },
    };

    [Theory]
    [MemberData(nameof(MissingRequiredFields))]
    public void A_missing_required_field_is_named(string field, TaskSpec spec)
    {
        var error = SingleErrorFor(spec, field);
        Assert.Contains("required", error.Message);
    }

    [Fact]
    public void An_unknown_mode_is_named_with_the_value_given()
    {
        var error = SingleErrorFor(Specs.Valid() with { Mode = "serverless" }, "mode");
        Assert.Contains("serverless", error.Message);
    }

    public static TheoryData<string, TaskSpec> NonPositiveLimits => new()
    {
        { "maxRounds", Specs.Valid() with { MaxRounds = 0 } },
        { "maxRounds", Specs.Valid() with { MaxRounds = -3 } },
        { "maxRounds", Specs.Valid() with { MaxRounds = TaskSpecValidator.MaxRoundsLimit + 1 } },
        { "setupTimeoutSeconds", Specs.Valid() with { SetupTimeoutSeconds = 0 } },
        { "setupTimeoutSeconds", Specs.Valid() with { SetupTimeoutSeconds = double.NaN } },
        { "runTimeoutSeconds", Specs.Valid() with { RunTimeoutSeconds = -1 } },
        { "runTimeoutSeconds", Specs.Valid() with { RunTimeoutSeconds = 0 } },
        { "scoringTimeoutSeconds", Specs.Valid() with { ScoringTimeoutSeconds = 0 } },
        { "scoringTimeoutSeconds", Specs.Valid() with { ScoringTimeoutSeconds = -0.5 } },
        { "execTimeoutSeconds", Specs.Valid() with { ExecTimeoutSeconds = 0 } },
        { "execTimeoutSeconds", Specs.Valid() with { ExecTimeoutSeconds = double.NegativeInfinity } },
        { "maxInfraRetries", Specs.Valid() with { MaxInfraRetries = -1 } },
        { "cpuLimit", Specs.Valid() with { CpuLimit = 0 } },
        { "cpuLimit", Specs.Valid() with { CpuLimit = double.NaN } },
        { "cpuLimit", Specs.Valid() with { CpuLimit = TaskSpecValidator.MaxCpuLimit + 1 } },
        { "memoryLimitMb", Specs.Valid() with { MemoryLimitMb = 0 } },
        { "memoryLimitMb", Specs.Valid() with { MemoryLimitMb = TaskSpecValidator.MinMemoryLimitMb - 1 } },
        { "pidsLimit", Specs.Valid() with { PidsLimit = -1 } },
        { "pidsLimit", Specs.Valid() with { PidsLimit = TaskSpecValidator.MaxPidsLimit + 1 } },
        { "network", Specs.Valid() with { Network = "" } },
        { "network", Specs.Valid() with { Network = "host" } },
        { "network", Specs.Valid() with { Network = "HOST" } },
        { "network", Specs.Valid() with { Network = "my net" } },
        { "network", Specs.Valid() with { Network = "-leading-dash" } },
    };

    [Theory]
    [InlineData("none")]
    [InlineData("bridge")]
    [InlineData("megaflow_tasks-1.net")]
    public void A_network_by_name_is_accepted(string network)
    {
        Assert.Empty(TaskSpecValidator.Validate(Specs.Valid() with { Network = network }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Train")]
    [InlineData("train eval")]
    [InlineData("train_1")]
    [InlineData("eval/held-out")]
    [InlineData("ütrain")]
    public void A_malformed_quota_name_is_named(string quota)
    {
        var error = SingleErrorFor(Specs.Valid() with { Quota = quota }, "quota");
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void A_quota_name_longer_than_64_characters_is_named_with_the_limit()
    {
        var error = SingleErrorFor(Specs.Valid() with { Quota = new string('q', 65) }, "quota");
        Assert.Contains("64", error.Message);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("eval")]
    [InlineData("eval-held-out-2")]
    [InlineData("0")]
    public void A_quota_of_lowercase_letters_digits_and_dashes_is_accepted(string quota)
    {
        Assert.Empty(TaskSpecValidator.Validate(Specs.Valid() with { Quota = quota }));
        Assert.Empty(TaskSpecValidator.Validate(Specs.Valid() with { Quota = new string('q', 64) }));
    }

    [Fact]
    public void No_quota_is_the_default_and_valid()
    {
        Assert.Null(Specs.Valid().Quota);
        Assert.Empty(TaskSpecValidator.Validate(Specs.Valid()));
    }

    [Fact]
    public void Fractional_cpus_and_small_limits_within_range_are_accepted()
    {
        Assert.Empty(TaskSpecValidator.Validate(Specs.Valid() with { CpuLimit = 0.25, MemoryLimitMb = 64, PidsLimit = 32 }));
    }

    [Theory]
    [MemberData(nameof(NonPositiveLimits))]
    public void An_out_of_range_limit_is_named(string field, TaskSpec spec)
    {
        SingleErrorFor(spec, field);
    }

    [Fact]
    public void An_oversized_metadata_payload_names_metadata()
    {
        var metadata = new Dictionary<string, string> { ["problem"] = new string('x', TaskSpecValidator.MaxPayloadBytes) };
        var error = SingleErrorFor(Specs.Valid() with { Metadata = metadata }, "metadata");
        Assert.Contains("too large", error.Message);
    }

    [Fact]
    public void An_oversized_action_list_names_actions()
    {
        var actions = Enumerable.Range(0, 100).Select(i => $"echo {new string('a', 1000)} {i}").ToList();
        var error = SingleErrorFor(Specs.Valid() with { Actions = actions }, "actions");
        Assert.Contains("too large", error.Message);
    }

    [Fact]
    public void The_payload_limit_counts_utf8_bytes_not_characters()
    {
        // 3 bytes per character in UTF-8: under the limit in characters, over it in bytes.
        var metadata = new Dictionary<string, string> { ["statement"] = new string('€', TaskSpecValidator.MaxPayloadBytes / 2) };
        SingleErrorFor(Specs.Valid() with { Metadata = metadata }, "metadata");
    }

    [Fact]
    public void A_payload_spread_over_fields_names_the_largest_one()
    {
        var third = TaskSpecValidator.MaxPayloadBytes / 3;
        var spec = Specs.Valid() with
        {
            Actions = [new string('a', third)],
            Metadata = new Dictionary<string, string> { ["m"] = new string('m', third + 10) },
            ScoreCommand = new string('s', third),
        };
        SingleErrorFor(spec, "metadata");
    }

    [Fact]
    public void A_payload_just_under_the_limit_passes()
    {
        var used = System.Text.Encoding.UTF8.GetByteCount(string.Concat(Specs.Valid().Actions!))
                   + "pytest -q".Length + "python:3.12".Length + 1;
        var metadata = new Dictionary<string, string> { ["m"] = new string('m', TaskSpecValidator.MaxPayloadBytes - used) };
        Assert.Empty(Validate(Specs.Valid() with { Metadata = metadata }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void An_empty_action_entry_is_named_with_its_index(int index)
    {
        var actions = new List<string> { "ls", "pwd" };
        actions[index] = "  ";
        SingleErrorFor(Specs.Valid() with { Actions = actions }, $"actions[{index}]");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("has/slash")]
    [InlineData("has\ttab")]
    [InlineData("has\nnewline")]
    [InlineData("bell\u0007")]
    [InlineData("a/b")]
    [InlineData("/")]
    [InlineData("a\\b")]
    [InlineData("50%")]
    [InlineData("a%2Fb")]
    [InlineData("no\u00a0break")]
    public void A_task_id_with_forbidden_characters_is_rejected(string taskId)
    {
        SingleErrorFor(Specs.Valid(taskId), "taskId");
    }

    [Fact]
    public void A_task_id_with_an_unpaired_surrogate_is_rejected()
    {
        // Not an InlineData: attribute strings are stored as UTF-8, which would replace the lone surrogate.
        SingleErrorFor(Specs.Valid("half" + (char)0xD800 + "surrogate"), "taskId");
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public void A_task_id_that_is_a_dot_segment_is_rejected_naming_it(string taskId)
    {
        var error = SingleErrorFor(Specs.Valid(taskId), "taskId");
        Assert.Contains($"'{taskId}'", error.Message);
    }

    [Fact]
    public void A_task_id_longer_than_the_limit_is_rejected()
    {
        var error = SingleErrorFor(Specs.Valid(new string('t', TaskSpecValidator.MaxTaskIdLength + 1)), "taskId");
        Assert.Contains($"{TaskSpecValidator.MaxTaskIdLength}", error.Message);
    }

    [Theory]
    [InlineData("swe-bench:django__django-11099#3")]
    [InlineData("task.1_2-3")]
    [InlineData("django__django-11099#r3")]
    [InlineData("user@host:task?v=1&x=2")]
    [InlineData("...")]
    [InlineData(".hidden")]
    [InlineData("tâche-\ud83d\ude80")]
    public void Task_ids_that_survive_url_escaping_are_accepted(string taskId)
    {
        Assert.Empty(Validate(Specs.Valid(taskId)));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var spec = new TaskSpec
        {
            TaskId = "bad id",
            Mode = "turbo",
            Image = null,
            Actions = ["ok", ""],
            ScoreCommand = null,
            MaxRounds = 0,
            RunTimeoutSeconds = -1,
            MaxInfraRetries = -2,
        };

        var fields = Validate(spec).Select(e => e.Field).ToHashSet();

        Assert.Equal(
            new HashSet<string> { "taskId", "mode", "image", "actions[1]", "scoreCommand", "maxRounds", "runTimeoutSeconds", "maxInfraRetries" },
            fields);
    }

    [Fact]
    public void An_error_renders_as_field_then_message()
    {
        Assert.Equal("image: is required", new ValidationError("image", "is required").ToString());
    }
}
