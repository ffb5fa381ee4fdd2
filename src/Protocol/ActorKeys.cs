namespace MegaFlow.Protocol;

/// <summary>
/// Keys of MegaFlow's entry points in Akka.Hosting's <c>ActorRegistry</c>: resolve them with
/// <c>registry.Get&lt;ActorKeys.Tasks&gt;()</c> or inject <c>IRequiredActor&lt;ActorKeys.Tasks&gt;</c>.
/// On worker nodes the key names the shard region itself, elsewhere its proxy: callers need not care.
/// </summary>
public static class ActorKeys
{
    /// <summary>The task shard region (or proxy).</summary>
    public sealed class Tasks;

    /// <summary>The environment shard region (or proxy).</summary>
    public sealed class Environments;

    /// <summary>The proxy to the scheduler singleton.</summary>
    public sealed class Scheduler;

    /// <summary>The proxy to the trainer singleton (the <c>trainer</c> role): experiments are started and read through it.</summary>
    public sealed class Trainer;

    /// <summary>The node's trajectory provider (worker nodes): hands out trajectory streams to trainers.</summary>
    public sealed class Trajectories;
}
