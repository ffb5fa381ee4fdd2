using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Domain;
using static MegaFlow.Contracts.Tasks.TaskEvents;

namespace MegaFlow.Domain.Tasks;

/// <summary>What <see cref="TaskLogic"/> decided for one command: events to persist, or why not.</summary>
public sealed record TaskDecision(DecisionOutcome Outcome, IReadOnlyList<ITaskEvent> Events, string? Reason, IReadOnlyList<ValidationError> Errors)
{
    public static TaskDecision Accept(params ITaskEvent[] events) => new(DecisionOutcome.Accepted, events, null, []);
    public static TaskDecision Duplicate(string reason) => new(DecisionOutcome.Duplicate, [], reason, []);
    public static TaskDecision Reject(string reason) => new(DecisionOutcome.Rejected, [], reason, []);
    public static TaskDecision Invalid(IReadOnlyList<ValidationError> errors) =>
        new(DecisionOutcome.Rejected, [], string.Join("; ", errors), errors);
}
