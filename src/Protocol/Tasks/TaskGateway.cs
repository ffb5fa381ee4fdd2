using Akka.Actor;
using MegaFlow.Contracts.Tasks;
using static MegaFlow.Contracts.Tasks.TaskProtocol;

namespace MegaFlow.Protocol.Tasks;

/// <summary>
/// The front door for submissions: validates a spec before it is routed, so a spec without a usable
/// task id (which cannot even be routed to an entity) gets the same field-naming rejection as any
/// other invalid spec. The TaskActor validates again; nothing invalid is ever persisted.
/// </summary>
public static class TaskGateway
{
    /// <summary>Returns <see cref="SubmitAccepted"/> or <see cref="SubmitRejected"/>.</summary>
    public static async Task<object> SubmitAsync(IActorRef tasks, TaskSpec spec, TimeSpan timeout, CancellationToken ct = default)
    {
        var errors = TaskSpecValidator.Validate(spec);
        if (errors.Count > 0)
            return new SubmitRejected(spec.TaskId ?? "", errors);
        return await tasks.Ask<object>(new SubmitTask(spec), timeout, ct);
    }
}
