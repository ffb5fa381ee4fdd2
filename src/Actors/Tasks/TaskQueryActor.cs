using Akka.Actor;
using MegaFlow.Protocol;
using Akka.Cluster.Tools.PublishSubscribe;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Actors.Tasks;

/// <summary>
/// Answers <see cref="ListTasks"/> on worker nodes (which hold the journal configuration), so
/// clients without database access can list tasks. Registered with the pub-sub mediator under
/// <see cref="Topics.TaskQueries"/>; clients reach any live instance with <c>mediator.Send(Path, …)</c>.
/// </summary>
public sealed class TaskQueryActor : ReceiveActor
{

    public TaskQueryActor()
    {
        ReceiveAsync<ListTasks>(async m => Sender.Tell(await TaskQueries.ListAsync(Context.System, m.Status)));
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Put(Self));
    }
}
