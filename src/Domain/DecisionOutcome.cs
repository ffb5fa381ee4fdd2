using MegaFlow.Contracts;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Environments;

namespace MegaFlow.Domain;

/// <summary>Outcome of deciding a command against the current state.</summary>
public enum DecisionOutcome
{
    /// <summary>Legal: persist the events.</summary>
    Accepted,
    /// <summary>Already done (idempotent repeat): nothing to persist, answer as if accepted.</summary>
    Duplicate,
    /// <summary>Illegal in this state or invalid input: nothing is persisted.</summary>
    Rejected,
}
