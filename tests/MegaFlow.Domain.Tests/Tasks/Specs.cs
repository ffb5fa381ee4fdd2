using MegaFlow.Contracts.Tasks;
using MegaFlow.Domain.Tasks;

namespace MegaFlow.Domain.Tests.Tasks;

/// <summary>Valid specs to start from; each test changes only what it is about.</summary>
internal static class Specs
{
    public static TaskSpec Valid(string taskId = "task-1", string mode = "ephemeral") => new()
    {
        TaskId = taskId,
        Mode = mode,
        Image = "python:3.12",
        Actions = ["echo hello", "pytest -q"],
        ScoreCommand = "pytest -q",
    };
}
