using MegaFlow.Contracts;

namespace MegaFlow.Contracts.Environments;

/// <summary>Messages to and from an environment (sharded by environment id).</summary>
public static class EnvironmentProtocol
{
    /// <summary>Create the environment for a task; answered with <see cref="EnvironmentReady"/> or <see cref="EnvironmentFailed"/>.</summary>
    public sealed record Provision(string EnvironmentId, EnvironmentSpec Spec, string TaskId, int Attempt) : IEnvironmentMessage;

    /// <summary>Lease a warm (Ready) environment to a task.</summary>
    public sealed record Lease(string EnvironmentId, string TaskId, int Attempt) : IEnvironmentMessage;

    public sealed record EnvironmentReady(string EnvironmentId, string TaskId, int Attempt, string Node) : IMegaFlowMessage;

    /// <summary>Infrastructure failure of the environment; <see cref="Lost"/> when it vanished after being ready.</summary>
    public sealed record EnvironmentFailed(string EnvironmentId, string TaskId, string Reason, bool Lost) : IMegaFlowMessage;

    /// <summary>
    /// Run one command; answered with <see cref="ExecResult"/> or <see cref="EnvironmentFailed"/>.
    /// Output up to <paramref name="CaptureBytes"/> is captured; only <paramref name="InlineBytes"/> travel back
    /// (they go to the journal) and, when there was more, the full capture is saved as an artifact under
    /// <paramref name="ArtifactKey"/> by the environment's node, so large outputs never enter the journal.
    /// </summary>
    public sealed record Exec(
        string EnvironmentId,
        string TaskId,
        string Command,
        double TimeoutSeconds,
        int CaptureBytes,
        int InlineBytes,
        string ArtifactKey,
        ExecModelAccess? Model = null) : IEnvironmentMessage;

    /// <summary>
    /// The command is an agent program that calls a model: the environment's node sets
    /// <c>OPENAI_BASE_URL</c> to its gateway's URL for <paramref name="Attempt"/> (as the environment
    /// reaches it) and <c>OPENAI_API_KEY</c> to <paramref name="Key"/>, valid for that attempt only.
    /// </summary>
    public sealed record ExecModelAccess(int Attempt, string Key);

    public sealed record ExecResult(
        string EnvironmentId,
        int ExitCode,
        string Output,
        long OutputBytes,
        bool OutputTruncated,
        bool TimedOut,
        DateTimeOffset StartedAt,
        double DurationMs,
        string? ArtifactPath) : IMegaFlowMessage;

    /// <summary>Return a persistent environment to its image's state; answered with <see cref="ResetDone"/> or <see cref="EnvironmentFailed"/>.</summary>
    public sealed record Reset(string EnvironmentId, string TaskId) : IEnvironmentMessage;

    public sealed record ResetDone(string EnvironmentId) : IMegaFlowMessage;

    public sealed record Destroy(string EnvironmentId, string Reason) : IEnvironmentMessage;

    public sealed record DestroyDone(string EnvironmentId) : IMegaFlowMessage;

    public sealed record GetEnvironmentState(string EnvironmentId) : IEnvironmentMessage;

    /// <summary>The node's provider saw the environment's resource die on its own (e.g. a container killed from outside).</summary>
    public sealed record ResourceDied(string EnvironmentId, string Reason) : IEnvironmentMessage;
}
