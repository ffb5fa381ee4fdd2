using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Environments;

namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>
/// Provisions at once, except environments whose id contains "stuck": for those ProvisionAsync blocks
/// the calling thread — the environment actor's own — until <see cref="Release"/>, so the actor can
/// answer nothing meanwhile (as one stuck in a provider call that never returns would be).
/// </summary>
public sealed class StuckProvider : IEnvironmentProvider
{
    private readonly ManualResetEventSlim _release = new();

    public string Name => "stuck";

    public Task<EnvironmentHandle> ProvisionAsync(string environmentId, EnvironmentSpec spec, CancellationToken ct)
    {
        // Synchronously, before any await: the actor's thread is the one that waits.
        if (environmentId.Contains("stuck", StringComparison.Ordinal)) _release.Wait(TimeSpan.FromMinutes(2));
        return Task.FromResult(new EnvironmentHandle(environmentId, Name, environmentId));
    }

    public Task<ExecOutcome> ExecAsync(EnvironmentHandle handle, ExecRequest request, CancellationToken ct) =>
        Task.FromResult(new ExecOutcome(0, "", 0, false, false, DateTimeOffset.UtcNow, TimeSpan.Zero));

    public Task ResetAsync(EnvironmentHandle handle, CancellationToken ct) => Task.CompletedTask;

    public Task DestroyAsync(EnvironmentHandle handle, CancellationToken ct) => Task.CompletedTask;

    public Task<HealthStatus> CheckHealthAsync(EnvironmentHandle handle, CancellationToken ct) => Task.FromResult(HealthStatus.Healthy);

    /// <summary>Lets every stuck environment go on (so the node can stop).</summary>
    public void Release() => _release.Set();
}
