namespace MegaFlow.Management.Tests.Infrastructure;

/// <summary>Small JSONL datasets written to a temporary file.</summary>
public static class TestDatasets
{
    /// <summary>
    /// Tasks running real shell commands (local-process provider). Every third one fails its
    /// scoring command: still a completed task (reward 0), which is an agent result, not a failure.
    /// </summary>
    public static string Write(string prefix, int count, string action = "echo hello")
    {
        var file = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(file, Enumerable.Range(0, count).Select(i =>
            $$"""{"taskId":"{{prefix}}-{{i:D3}}","mode":"{{(i % 2 == 0 ? "ephemeral" : "persistent")}}","image":"img-{{i % 3}}","actions":["{{action}}","echo round2"],"scoreCommand":"{{(i % 3 == 2 ? "exit 1" : "exit 0")}}","maxInfraRetries":5}"""));
        return file;
    }
}
