using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using MegaFlow.Protocol;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MegaFlow.Management.Health;

/// <summary>
/// The node's liveness and readiness as Akka.Hosting health checks, so they live in the host's standard
/// <see cref="HealthCheckService"/> (any other check registered with the "ready" tag, such as a journal's,
/// joins GET /ready without touching the routes). Liveness is Akka.Hosting's own actor-system check.
/// Readiness is ours rather than Akka.Cluster.Hosting's readiness check: that one turns healthy once the
/// node has joined and stays so, while a node that is leaving, exiting or downed must stop being ready,
/// and a worker is only ready once its shard regions are registered with their coordinators.
/// </summary>
public static class NodeHealthChecks
{
    public const string ReadyTag = "ready";
    public const string LivenessTag = "liveness";

    public static AkkaConfigurationBuilder WithMegaFlowHealthChecks(this AkkaConfigurationBuilder builder) =>
        builder
            .WithActorSystemLivenessCheck(tags: ["akka", LivenessTag])
            .WithHealthCheck("megaflow.member-up", new MemberUp(), HealthStatus.Unhealthy, [ReadyTag])
            .WithHealthCheck("megaflow.shard-regions", new ShardRegionsRegistered(), HealthStatus.Unhealthy, [ReadyTag]);

    /// <summary>Up now: not joining, leaving, exiting or downed, and the actor system running.</summary>
    private sealed class MemberUp : IAkkaHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            if (context.ActorSystem.WhenTerminated.IsCompleted)
                return Task.FromResult(HealthCheckResult.Unhealthy("the actor system has terminated"));
            var status = Akka.Cluster.Cluster.Get(context.ActorSystem).SelfMember.Status;
            return Task.FromResult(status == MemberStatus.Up
                ? HealthCheckResult.Healthy("member is up")
                : HealthCheckResult.Unhealthy($"member status is {status.ToString().ToLowerInvariant()}, not up"));
        }
    }

    /// <summary>A worker serves tasks and environments only once both shard regions are registered.</summary>
    private sealed class ShardRegionsRegistered : IAkkaHealthCheck
    {
        private static readonly TimeSpan CoordinatorTimeout = TimeSpan.FromSeconds(2);

        public async Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken ct = default)
        {
            var system = context.ActorSystem;
            var cluster = Akka.Cluster.Cluster.Get(system);
            if (!cluster.SelfRoles.Contains(system.Settings.Config.GetString("megaflow.worker-role", "worker")))
                return HealthCheckResult.Healthy("not a worker");
            var sharding = ClusterSharding.Get(system);
            var problems = new List<string>();
            foreach (var type in new[] { EntityTypes.Task, EntityTypes.Environment })
            {
                if (!sharding.ShardTypeNames.Contains(type))
                {
                    problems.Add($"the '{type}' shard region has not started");
                    continue;
                }
                // Registered once the coordinator lists this node's region: a region that has not
                // registered yet answers at once with an empty set, and until it registers,
                // messages to its shards just wait.
                try
                {
                    var regions = await sharding.ShardRegion(type).Ask<CurrentRegions>(GetCurrentRegions.Instance, CoordinatorTimeout, ct);
                    if (!regions.Regions.Any(a => a.HasLocalScope || a.Equals(cluster.SelfAddress)))
                        problems.Add($"the '{type}' shard region has not registered with its coordinator yet");
                }
                catch (AskTimeoutException)
                {
                    problems.Add($"the '{type}' shard coordinator has not answered yet");
                }
            }
            return problems.Count == 0
                ? HealthCheckResult.Healthy("task and environment shard regions registered")
                : HealthCheckResult.Unhealthy(string.Join("; ", problems));
        }
    }
}
