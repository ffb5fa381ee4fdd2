using Docker.DotNet;
using Docker.DotNet.Models;

namespace MegaFlow.Environments.Docker.Events;

/// <summary>
/// Watches the engine's event stream for deaths of this cluster's and node's containers and reports
/// each death the provider did not cause as a lost resource. Reconnects after a pause when the
/// stream fails (engine restarting or unreachable), resuming where it stopped.
/// </summary>
internal sealed class EngineEvents
{
    private readonly DockerClient _client;
    private readonly DockerProviderSettings _settings;
    private readonly ExpectedDeaths _deaths;
    private readonly Action<ResourceLost> _lost;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _watching;

    /// <summary>Starts watching at once.</summary>
    /// <param name="lost">Called on the watcher's thread for each container that died on its own.</param>
    public EngineEvents(DockerClient client, DockerProviderSettings settings, ExpectedDeaths deaths, Action<ResourceLost> lost)
    {
        _client = client;
        _settings = settings;
        _deaths = deaths;
        _lost = lost;
        _watching = Task.Run(WatchAsync);
    }

    /// <summary>Completes once the event stream is open.</summary>
    public Task Connected => _connected.Task;

    private async Task WatchAsync()
    {
        var parameters = new ContainerEventsParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["type"] = new Dictionary<string, bool> { ["container"] = true },
                ["event"] = new Dictionary<string, bool> { ["die"] = true },
                ["label"] = new Dictionary<string, bool>
                {
                    [$"{DockerProvider.ClusterLabel}={_settings.Cluster}"] = true,
                    [$"{DockerProvider.NodeLabel}={_settings.Node}"] = true,
                },
            },
        };
        var cursor = new EventCursor();
        var progress = new SyncProgress<Message>(m =>
        {
            if (cursor.Advance(m) && LostFrom(m, _deaths) is { } lost) _lost(lost);
        });
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                // Resume where the previous stream stopped, so deaths during a reconnect are not missed.
                if (cursor.Since is { } since) parameters.Since = since;
                var stream = _client.System.MonitorEventsAsync(parameters, progress, _stopping.Token);
                // The request is sent by now; a ping answered after it means the engine is listening.
                _ = _client.System.PingAsync(_stopping.Token).ContinueWith(_ => _connected.TrySetResult(), TaskScheduler.Default);
                await stream.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Engine restarting or unreachable: reconnect after a pause.
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The loss a die event reports; null for a death the provider caused itself or for a container
    /// without an environment label (not made by a provider).
    /// </summary>
    internal static ResourceLost? LostFrom(Message m, ExpectedDeaths deaths)
    {
        var id = m.Actor?.ID ?? m.ID;
        if (id is null) return null;
        if (deaths.Consume(id)) return null;
        var attributes = m.Actor?.Attributes ?? new Dictionary<string, string>();
        if (!attributes.TryGetValue(DockerProvider.EnvironmentLabel, out var environmentId)) return null;
        var name = attributes.TryGetValue("name", out var n) ? n : id;
        var exit = attributes.TryGetValue("exitCode", out var x) ? x : "?";
        return new ResourceLost(environmentId, name, $"container {name} died (exit code {exit}) without MegaFlow stopping it");
    }

    /// <summary>Stops watching; waits a moment for the watcher to end.</summary>
    public void Stop()
    {
        _stopping.Cancel();
        try
        {
            _watching.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // stopping
        }
        _stopping.Dispose();
    }
}
