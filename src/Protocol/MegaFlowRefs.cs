using Akka.Actor;

namespace MegaFlow.Protocol;

/// <summary>The entry points of a running node or client, for host programs and tests.</summary>
/// <param name="Tasks">Task shard region (or proxy on non-worker members): send <c>ITaskMessage</c>s here.</param>
/// <param name="Environments">Environment shard region (or proxy).</param>
/// <param name="Scheduler">Proxy to the scheduler singleton.</param>
public sealed record MegaFlowRefs(IActorRef Tasks, IActorRef Environments, IActorRef Scheduler);
