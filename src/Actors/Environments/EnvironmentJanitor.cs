using Akka.Actor;
using Akka.Event;
using MegaFlow.Contracts.Environments;
using MegaFlow.Domain.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain.Scheduling;
using MegaFlow.Environments;
using static MegaFlow.Contracts.Environments.EnvironmentProtocol;

namespace MegaFlow.Actors.Environments;

public sealed record EnvironmentJanitorSettings
{
    /// <summary>Images to make present at start, before tasks arrive.</summary>
    public IReadOnlyList<string> Prepull { get; init; } = [];

    /// <summary>How often the node's image list is re-sent to the scheduler (which does not persist it).</summary>
    public TimeSpan ImageReportInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for an environment to say whether it owns a resource.</summary>
    public TimeSpan OwnerAskTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// One per worker node whose provider's resources outlive the process (Docker). At start it removes
/// orphans: every resource this node's provider created (cluster and node labels) is checked with
/// its EnvironmentActor (which recovers from the journal), and removed unless a live environment
/// holds it. It forwards the provider's "resource died" notices (the engine's event stream) to the
/// environments, warms the pre-provision image list, and reports the node's images to the scheduler.
/// </summary>
public sealed class EnvironmentJanitor : ReceiveActor, IWithTimers
{
    public const string Name = "environment-janitor";

    private readonly IEnvironmentProvider _provider;
    private readonly IActorRef _environments;
    private readonly IActorRef _scheduler;
    private readonly string _node;
    private readonly EnvironmentJanitorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Action> _unsubscribe = [];
    private int _sweepPending;
    private int _removed;

    public EnvironmentJanitor(IEnvironmentProvider provider, IActorRef environments, IActorRef scheduler, string node, EnvironmentJanitorSettings settings)
    {
        _provider = provider;
        _environments = environments;
        _scheduler = scheduler;
        _node = node;
        _settings = settings;

        Receive<ResourcesListed>(OnListed);
        Receive<OwnerChecked>(OnOwnerChecked);
        Receive<Removed>(m =>
        {
            if (m.Error is null) _removed++;
            else _log.Warning("could not remove orphan {0} of {1}: {2}", m.Resource.Reference, m.Resource.EnvironmentId, m.Error);
            if (--_sweepPending == 0) _log.Info("orphan sweep on {0}: removed {1} resource(s)", _node, _removed);
        });
        Receive<ResourceLost>(m =>
        {
            _log.Warning("environment {0}: {1}", m.EnvironmentId, m.Reason);
            _environments.Tell(new ResourceDied(m.EnvironmentId, m.Reason));
        });
        Receive<ReportImages>(_ => ListImages());
        Receive<ImagesListed>(m =>
        {
            if (m.Images is not null) _scheduler.Tell(new SchedulerProtocol.ReportNodeImages(_node, m.Images));
        });
        Receive<Warmed>(m =>
        {
            foreach (var failure in m.Failures) _log.Warning("pre-provision on {0}: {1}", _node, failure);
            ListImages();
        });
    }

    public static Props Props(IEnvironmentProvider provider, IActorRef environments, IActorRef scheduler, string node, EnvironmentJanitorSettings settings) =>
        Akka.Actor.Props.Create(() => new EnvironmentJanitor(provider, environments, scheduler, node, settings));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        var self = Self;
        if (_provider is IResourceInventory inventory)
        {
            // Provider events arrive on its background thread: only Tell from there.
            Action<ResourceLost> onLost = lost => self.Tell(lost);
            inventory.ResourceLost += onLost;
            _unsubscribe.Add(() => inventory.ResourceLost -= onLost);
            inventory.ListResourcesAsync(CancellationToken.None)
                .PipeTo(self, success: r => new ResourcesListed(r, null), failure: e => new ResourcesListed([], e.Message));
        }
        if (_provider is IImageInventory images)
        {
            Action onChanged = () => self.Tell(ReportImages.Instance);
            images.ImagesChanged += onChanged;
            _unsubscribe.Add(() => images.ImagesChanged -= onChanged);
            if (_settings.Prepull.Count > 0)
                images.WarmAsync(_settings.Prepull, CancellationToken.None)
                    .PipeTo(self, success: f => new Warmed(f), failure: e => new Warmed([e.Message]));
            else
                ListImages();
            Timers.StartPeriodicTimer("report-images", ReportImages.Instance, _settings.ImageReportInterval);
        }
    }

    protected override void PostStop()
    {
        foreach (var u in _unsubscribe) u();
    }

    private void OnListed(ResourcesListed m)
    {
        if (m.Error is not null)
        {
            _log.Warning("orphan sweep on {0} could not list resources: {1}", _node, m.Error);
            return;
        }
        _sweepPending = m.Resources.Count;
        if (_sweepPending == 0) return;
        _log.Info("orphan sweep on {0}: checking {1} resource(s)", _node, m.Resources.Count);
        foreach (var r in m.Resources)
            _environments.Ask<EnvironmentState>(new GetEnvironmentState(r.EnvironmentId), _settings.OwnerAskTimeout)
                .PipeTo(Self, success: s => new OwnerChecked(r, s), failure: _ => new OwnerChecked(r, null));
    }

    private void OnOwnerChecked(OwnerChecked m)
    {
        if (m.State is null)
        {
            // No answer: keep it rather than risk removing a live environment's container.
            _log.Warning("orphan sweep: environment {0} did not answer; keeping {1}", m.Resource.EnvironmentId, m.Resource.Reference);
            if (--_sweepPending == 0) _log.Info("orphan sweep on {0}: removed {1} resource(s)", _node, _removed);
            return;
        }
        if (Owns(m.State, m.Resource))
        {
            if (--_sweepPending == 0) _log.Info("orphan sweep on {0}: removed {1} resource(s)", _node, _removed);
            return;
        }
        var inventory = (IResourceInventory)_provider;
        inventory.RemoveResourcesOfAsync(m.Resource.EnvironmentId, CancellationToken.None)
            .PipeTo(Self, success: () => new Removed(m.Resource, null), failure: e => new Removed(m.Resource, e.Message));
    }

    /// <summary>
    /// A live environment owns the resource: it is provisioning (its handle is not known yet), or
    /// ready, leased or resetting with this very resource as its handle.
    /// </summary>
    public static bool Owns(EnvironmentState s, ManagedResource r) => s.Status switch
    {
        EnvironmentStatus.Provisioning => true,
        EnvironmentStatus.Ready or EnvironmentStatus.Leased or EnvironmentStatus.Resetting => s.Handle?.Reference == r.Reference,
        _ => false, // Unknown (never persisted), Destroyed, Lost
    };

    private void ListImages()
    {
        if (_provider is not IImageInventory images) return;
        images.ListImagesAsync(CancellationToken.None)
            .PipeTo(Self, success: i => new ImagesListed(i), failure: _ => new ImagesListed(null));
    }

    private sealed record ResourcesListed(IReadOnlyList<ManagedResource> Resources, string? Error);
    private sealed record OwnerChecked(ManagedResource Resource, EnvironmentState? State);
    private sealed record Removed(ManagedResource Resource, string? Error);
    private sealed record ImagesListed(IReadOnlyList<string>? Images);
    private sealed record Warmed(IReadOnlyList<string> Failures);

    private sealed record ReportImages
    {
        public static readonly ReportImages Instance = new();
    }
}
