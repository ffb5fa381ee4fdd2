using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Contracts.Management;

/// <summary>
/// The answer to <c>POST /api/training/experiments</c> (202): the trainer took the experiment.
/// <paramref name="AlreadyKnown"/>: the same id with the same spec existed, so it resumes rather than starts.
/// </summary>
public sealed record ExperimentStartAnswer(string Id, bool AlreadyKnown, string Message);

/// <summary>An error answer that names each field at fault (a rejected experiment spec): <see cref="ApiError"/> plus the fields.</summary>
public sealed record FieldErrors(string Error, string Code, IReadOnlyList<ValidationError> Errors);
