using System.Text.Json;
using System.Text.Json.Serialization;

namespace MegaFlow.Datasets;

/// <summary>
/// One task record as written (docs/datasets.md): the <see cref="MegaFlow.Contracts.Tasks.TaskSpec"/>
/// fields plus <c>replicas</c> and <c>dataset</c>, every one optional here so that a missing field
/// is told apart from a default. Unknown members fail the binding.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class TaskRecord
{
    public string? TaskId { get; set; }
    public string? Mode { get; set; }
    public string? Image { get; set; }
    public string? Pool { get; set; }
    public string? Quota { get; set; }
    public List<string>? Actions { get; set; }
    public string? ScoreCommand { get; set; }
    public int? MaxRounds { get; set; }
    public double? SetupTimeoutSeconds { get; set; }
    public double? RunTimeoutSeconds { get; set; }
    public double? ScoringTimeoutSeconds { get; set; }
    public double? ExecTimeoutSeconds { get; set; }
    public int? MaxInfraRetries { get; set; }
    public double? CpuLimit { get; set; }
    public int? MemoryLimitMb { get; set; }
    public int? PidsLimit { get; set; }
    public string? Network { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
    /// <summary>A kind ("model") or an object; bound by <see cref="AgentBinder"/>, which names each agent.* field.</summary>
    public JsonElement? Agent { get; set; }
    public int? Replicas { get; set; }
    public string? Dataset { get; set; }
}
