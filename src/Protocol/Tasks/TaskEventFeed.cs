using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Protocol.Tasks;

/// <summary>
/// Task status changes from the whole cluster as an async stream, for host programs (the demo,
/// clients). Backed by a pub-sub subscriber actor writing into a bounded channel: a slow reader makes
/// the subscriber drop the oldest notifications rather than grow without bound, which is safe because
/// readers re-query a task's state for anything they must not miss.
/// </summary>
public sealed class TaskEventFeed : IAsyncDisposable
{
    private readonly IActorRef _subscriber;
    private readonly Channel<TaskStatusChanged> _channel;

    private TaskEventFeed(IActorRef subscriber, Channel<TaskStatusChanged> channel)
    {
        _subscriber = subscriber;
        _channel = channel;
    }

    public ChannelReader<TaskStatusChanged> Reader => _channel.Reader;

    /// <summary>Subscribes and returns once the subscription is acknowledged (no change after that is missed).</summary>
    public static async Task<TaskEventFeed> SubscribeAsync(ActorSystem system, int capacity = 100_000, TimeSpan? timeout = null)
    {
        var channel = Channel.CreateBounded<TaskStatusChanged>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = system.ActorOf(Props.Create(() => new Subscriber(channel.Writer, acked)));
        await acked.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        return new TaskEventFeed(subscriber, channel);
    }

    public ValueTask DisposeAsync()
    {
        _subscriber.Tell(PoisonPill.Instance);
        _channel.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    private sealed class Subscriber : ReceiveActor
    {
        public Subscriber(ChannelWriter<TaskStatusChanged> writer, TaskCompletionSource acked)
        {
            var mediator = DistributedPubSub.Get(Context.System).Mediator;
            Receive<SubscribeAck>(_ => acked.TrySetResult());
            Receive<TaskStatusChanged>(m => writer.TryWrite(m));
            mediator.Tell(new Subscribe(Topics.TaskEvents, Self));
        }
    }
}
