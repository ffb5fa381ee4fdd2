using System.Runtime.CompilerServices;
using MegaFlow.Protocol;
using MegaFlow.Protocol.Tasks;
using MegaFlow.Contracts;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using MegaFlow.Datasets;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Client;

/// <summary>
/// A host program's handle on a MegaFlow cluster: submit (one or a batch, with backpressure),
/// cancel, query state, list by status, watch lifecycle events, await results.
/// </summary>
/// <remarks>
/// Why a cluster member with the <c>client</c> role rather than ClusterClient: the client then uses
/// the same shard-region proxies, singleton proxy and pub-sub as the nodes, so routing to a task's
/// current node, re-routing after a node dies and event delivery all come from the cluster itself;
/// ClusterClient would need a gateway actor and a second event path through the receptionist. The cost
/// is that a client is a member: it hosts no shards (no worker role) and, if it dies, is downed like any
/// member. The client only talks to whichever nodes are alive, so losing the node it joined through is
/// not an event for it at all.
/// </remarks>
public sealed class MegaFlowClient : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly ActorSystem _system;
    private readonly MegaFlowRefs _refs;
    private readonly ClientOptions _options;
    private readonly QueueGauge _gauge;
    private readonly IActorRef _trainer;

    private MegaFlowClient(IHost host, ActorSystem system, MegaFlowRefs refs, ClientOptions options, QueueGauge gauge)
    {
        // The trainer singleton's proxy: messages wait in it while no trainer node is up (asks then time out).
        _trainer = ActorRegistry.For(system).Get<ActorKeys.Trainer>();
        _host = host;
        _system = system;
        _refs = refs;
        _options = options;
        _gauge = gauge;
    }

    /// <summary>The client's ActorSystem, for programs that want to use actors or Akka.Streams directly.</summary>
    public ActorSystem System => _system;

    /// <summary>The task shard-region proxy: <c>ITaskMessage</c>s sent here reach the task wherever it lives.</summary>
    public IActorRef Tasks => _refs.Tasks;

    public static async Task<MegaFlowClient> ConnectAsync(ClientOptions options, CancellationToken ct = default)
    {
        if (options.Seeds.Count == 0) throw new ArgumentException("ClientOptions.Seeds: at least one seed address is required", nameof(options));
        if (options.QueueBound <= 0) throw new ArgumentException($"ClientOptions.QueueBound must be positive (got {options.QueueBound})", nameof(options));
        var endpoint = new ClusterEndpoint(options.Hostname, null, options.Port, ["client"], options.Seeds);
        var config = ClusterConfig.Build(endpoint, "akka.loglevel = WARNING\n" + options.ExtraHocon);
        // The client is a cluster member hosting no tasks: the scheduler's and trainer's proxies and region proxies only.
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(options.SystemName, builder =>
                builder.AddHocon(config, HoconAddMode.Prepend).WithSchedulerProxy(config).WithRegionProxies(config).WithTrainerProxy(config)))
            .Build();
        await host.StartAsync(ct);
        var system = host.Services.GetRequiredService<ActorSystem>();
        try
        {
            var refs = MegaFlowProxies.Refs(ActorRegistry.For(system));
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
            await up.Task.WaitAsync(options.ConnectTimeout, ct);

            var gauge = await QueueGauge.StartAsync(system, options.ConnectTimeout);
            // The scheduler answering proves the cluster can take work; its depth seeds the gauge.
            var deadline = DateTime.UtcNow + options.ConnectTimeout;
            while (true)
            {
                try
                {
                    var status = await refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, TimeSpan.FromSeconds(3), ct);
                    gauge.Observe(status.QueueDepth);
                    break;
                }
                catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
                {
                }
            }
            return new MegaFlowClient(host, system, refs, options, gauge);
        }
        catch
        {
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Submits one task. While the cluster's queue is at the bound this waits for it to drain, or, with
    /// <paramref name="waitIfBusy"/> false, throws <see cref="ClusterBusyException"/> at once. Throws
    /// <see cref="TaskRejectedException"/> for an invalid spec. Submitting a known id is idempotent.
    /// </summary>
    public async Task<SubmitAccepted> SubmitAsync(TaskSpec spec, bool waitIfBusy = true, CancellationToken ct = default)
    {
        await _gauge.WaitForRoomAsync(_options.QueueBound, waitIfBusy, async () => (await GetSchedulerStatusAsync(ct)).QueueDepth, ct);
        var reply = await TaskGateway.SubmitAsync(_refs.Tasks, spec, _options.RequestTimeout, ct);
        return reply switch
        {
            SubmitAccepted a => _gauge.Submitted(a),
            SubmitRejected r => throw new TaskRejectedException(r.TaskId, r.Errors),
            _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
        };
    }

    /// <summary>
    /// Validates every spec first (nothing is submitted if any is invalid), then submits them with
    /// bounded concurrency under the same backpressure as <see cref="SubmitAsync"/>.
    /// </summary>
    public async Task<IReadOnlyList<SubmitAccepted>> SubmitBatchAsync(IReadOnlyList<TaskSpec> specs, int parallelism = 32, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        var invalid = specs.Select((s, i) => (Index: i, Spec: s, Errors: TaskSpecValidator.Validate(s))).Where(x => x.Errors.Count > 0).ToList();
        if (invalid.Count > 0)
            throw new AggregateException($"{invalid.Count} of {specs.Count} specs are invalid; nothing was submitted",
                invalid.Select(x => new TaskRejectedException(x.Spec.TaskId ?? $"#{x.Index}", x.Errors)));
        var results = new SubmitAccepted[specs.Count];
        var done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, specs.Count), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct }, async (i, token) =>
        {
            results[i] = await SubmitAsync(specs[i], waitIfBusy: true, token);
            progress?.Report(Interlocked.Increment(ref done));
        });
        return results;
    }

    /// <summary>
    /// Reads a JSONL dataset (docs/datasets.md), validating every line first. With errors, nothing is
    /// submitted (unless <see cref="DatasetOptions.SkipInvalidLines"/>) and the errors come back with their
    /// line numbers; otherwise every spec is submitted under backpressure.
    /// </summary>
    public async Task<DatasetSubmission> SubmitFileAsync(string path, DatasetOptions? options = null, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        var read = DatasetReader.Read(path, options);
        if (read.Specs.Count == 0)
            return new DatasetSubmission(read, []);
        var accepted = await SubmitBatchAsync(read.Specs, progress: progress, ct: ct);
        return new DatasetSubmission(read, accepted);
    }

    /// <summary>
    /// As <see cref="SubmitFileAsync"/> for a JSONL of SWE-bench records as published (SWE-bench, Lite,
    /// Verified, SWE-Gym) or in the extended shape (<see cref="SweBenchImport"/>): test commands from the
    /// records, <see cref="SweBenchOptions.TestCommands"/> or the pytest default; official image names.
    /// </summary>
    public async Task<DatasetSubmission> SubmitSweBenchFileAsync(string path, SweBenchOptions? options = null, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        var read = SweBenchImport.Read(path, options);
        if (read.Specs.Count == 0)
            return new DatasetSubmission(read, []);
        var accepted = await SubmitBatchAsync(read.Specs, progress: progress, ct: ct);
        return new DatasetSubmission(read, accepted);
    }

    public async Task<bool> CancelAsync(string taskId, string reason, CancellationToken ct = default) =>
        await _refs.Tasks.Ask<object>(new CancelTask(taskId, reason), _options.RequestTimeout, ct) is CancelAccepted;

    /// <summary>The scheduler's queue, running count, semaphores and pools.</summary>
    public Task<SchedulerProtocol.SchedulerStatus> GetSchedulerStatusAsync(CancellationToken ct = default) =>
        _refs.Scheduler.Ask<SchedulerProtocol.SchedulerStatus>(SchedulerProtocol.GetSchedulerState.Instance, _options.RequestTimeout, ct);

    public Task<TaskState> GetStateAsync(string taskId, CancellationToken ct = default) =>
        _refs.Tasks.Ask<TaskState>(new GetTaskState(taskId), _options.RequestTimeout, ct);

    /// <summary>
    /// Starts an RL experiment on the trainer singleton, or resumes it when the same id exists with the
    /// same spec (<see cref="TrainerProtocol.ExperimentAccepted.AlreadyKnown"/>). A spec with errors is
    /// refused here, before anything is sent; a spec the trainer refuses (another experiment running,
    /// the same id with another spec) too: both throw <see cref="ExperimentRejectedException"/> naming the fields.
    /// The trainer answers once it has loaded the weights, so this waits up to <see cref="ClientOptions.TrainerStartTimeout"/>.
    /// </summary>
    public async Task<TrainerProtocol.ExperimentAccepted> StartExperimentAsync(ExperimentSpec spec, CancellationToken ct = default)
    {
        var errors = ExperimentSpecValidator.Validate(spec);
        if (errors.Count > 0) throw new ExperimentRejectedException(spec?.Id ?? "", errors);
        return await _trainer.Ask<object>(new TrainerProtocol.StartExperiment(spec!), _options.TrainerStartTimeout, ct) switch
        {
            TrainerProtocol.ExperimentAccepted a => a,
            TrainerProtocol.ExperimentRejected r => throw new ExperimentRejectedException(r.Id, r.Errors),
            var reply => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
        };
    }

    /// <summary>What an experiment has done so far; null when the trainer knows no experiment <paramref name="id"/>.</summary>
    public async Task<ExperimentReport?> GetExperimentAsync(string id, CancellationToken ct = default) =>
        await _trainer.Ask<object>(new TrainerProtocol.GetExperiment(id), _options.RequestTimeout, ct) switch
        {
            ExperimentReport r => r,
            TrainerProtocol.ExperimentRejected => null,
            var reply => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
        };

    /// <summary>Every experiment the trainer has run or is running, oldest first.</summary>
    public async Task<IReadOnlyList<ExperimentReport>> ListExperimentsAsync(CancellationToken ct = default) =>
        (await _trainer.Ask<TrainerProtocol.ExperimentList>(TrainerProtocol.ListExperiments.Instance, _options.RequestTimeout, ct)).Experiments;

    /// <summary>Tasks by status, from a worker node's task read model.</summary>
    public Task<TaskListing> ListAsync(TaskStatus? status = null, CancellationToken ct = default) =>
        DistributedPubSub.Get(_system).Mediator.Ask<TaskListing>(new Send(Topics.TaskReadModel, new ListTasks(status), localAffinity: false), _options.RequestTimeout, ct);

    /// <summary>
    /// Lifecycle events of the given tasks as they happen, starting with each task's current state, so
    /// a subscriber that starts late still sees where every task is. Ends when all are terminal.
    /// Each task's terminal state is reported exactly once. Read from a node's task read model
    /// (<see cref="TaskWatchFeed"/>); a task no node has heard of is skipped after a short grace.
    /// </summary>
    public async IAsyncEnumerable<TaskStatusChanged> WatchAsync(IEnumerable<string> taskIds, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var item in TaskWatchFeed.WatchAsync(_system, taskIds, localFirst: false, ct))
            if (item.Row is { } r)
                yield return new TaskStatusChanged(r.TaskId, r.Status, r.Attempt, r.Node ?? "", r.UpdatedAt ?? r.SubmittedAt ?? DateTimeOffset.UtcNow);
    }

    /// <summary>Waits for each task's final state; returns them as they finish, each exactly once.</summary>
    public async IAsyncEnumerable<TaskState> ResultsAsync(IEnumerable<string> taskIds, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var e in WatchAsync(taskIds, ct))
            if (e.Status.IsTerminal())
                yield return await GetStateRetryingAsync(e.TaskId, ct); // the full state (steps, score) lives with the task
    }

    /// <summary>
    /// A state query that rides out a fail-over: while a dead node's shards move (downing, hand-over,
    /// recovery) a query can time out; the stream keeps asking until the caller cancels.
    /// </summary>
    private async Task<TaskState> GetStateRetryingAsync(string taskId, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await GetStateAsync(taskId, ct);
            }
            catch (AskTimeoutException)
            {
                ct.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>Leaves the cluster (coordinated shutdown) and stops the client's host.</summary>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
    }

    /// <summary>
    /// The client's view of the cluster queue depth, fed by the scheduler's published depth changes
    /// plus this client's own submissions since the last publication (so a burst cannot overshoot the
    /// bound while the next publication is on its way).
    /// </summary>
    private sealed class QueueGauge
    {
        private readonly object _lock = new();
        private int _published;
        private int _sinceLastPublish;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static async Task<QueueGauge> StartAsync(ActorSystem system, TimeSpan timeout)
        {
            var gauge = new QueueGauge();
            var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            system.ActorOf(Props.Create(() => new Listener(gauge, acked)));
            await acked.Task.WaitAsync(timeout);
            return gauge;
        }

        public int Depth { get { lock (_lock) return _published + _sinceLastPublish; } }

        public void Observe(int depth)
        {
            TaskCompletionSource changed;
            lock (_lock)
            {
                _published = depth;
                _sinceLastPublish = 0;
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            changed.TrySetResult();
        }

        public SubmitAccepted Submitted(SubmitAccepted a)
        {
            if (!a.AlreadyKnown) lock (_lock) _sinceLastPublish++;
            return a;
        }

        /// <summary>
        /// Waits for a depth notification below the bound. Pub-sub delivery is at-most-once, so while
        /// blocked the gauge re-reads the depth from the scheduler once a second as a safety net.
        /// </summary>
        public async Task WaitForRoomAsync(int bound, bool wait, Func<Task<int>> readDepth, CancellationToken ct)
        {
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_published + _sinceLastPublish < bound) return;
                    if (!wait) throw new ClusterBusyException(_published + _sinceLastPublish, bound);
                    changed = _changed.Task;
                }
                if (await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(1), ct)) != changed)
                {
                    ct.ThrowIfCancellationRequested();
                    try { Observe(await readDepth()); }
                    catch (AskTimeoutException) { } // scheduler moving: keep waiting
                }
            }
        }

        private sealed class Listener : ReceiveActor
        {
            public Listener(QueueGauge gauge, TaskCompletionSource acked)
            {
                Receive<SubscribeAck>(_ => acked.TrySetResult());
                Receive<SchedulerProtocol.QueueDepthChanged>(m => gauge.Observe(m.QueueDepth));
                DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(Topics.SchedulerStatus, Self));
            }
        }
    }
}

/// <summary>What a dataset submission did: the file's validation result and the accepted tasks.</summary>
public sealed record DatasetSubmission(DatasetReadResult File, IReadOnlyList<SubmitAccepted> Accepted)
{
    public bool Submitted => Accepted.Count > 0;
}
