using System.Text;
using MegaFlow.Contracts.Scheduling;

namespace MegaFlow.Contracts.Tasks;

/// <summary>One problem with a submitted spec, naming the field.</summary>
public sealed record ValidationError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>
/// Checks a spec before anything is persisted for it. Returns every problem at once, so a user
/// fixing a dataset sees all of them in one pass.
/// </summary>
public static class TaskSpecValidator
{
    /// <summary>Largest accepted spec, counted over its strings; protects the journal and the wire.</summary>
    public const int MaxPayloadBytes = 64 * 1024;

    public const int MaxTaskIdLength = 200;

    /// <summary>Metadata key of the task's problem statement: what the model agent is asked to solve.</summary>
    public const string ProblemStatementKey = "problem_statement";
    public const int MaxRoundsLimit = 10_000;
    public const double MaxCpuLimit = 256;
    public const int MinMemoryLimitMb = 16;
    public const int MaxMemoryLimitMb = 1 << 20;
    public const int MinPidsLimit = 8;
    public const int MaxPidsLimit = 1_000_000;

    // Docker network names: a letter or digit, then letters, digits, '_', '.', '-'.
    private static readonly System.Text.RegularExpressions.Regex NetworkName = new("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$");

    private static readonly System.Text.RegularExpressions.Regex EnvName = new("^[A-Za-z_][A-Za-z0-9_]{0,255}$");

    public static IReadOnlyList<ValidationError> Validate(TaskSpec? spec)
    {
        var errors = new List<ValidationError>();
        if (spec is null)
        {
            errors.Add(new ValidationError("spec", "is missing"));
            return errors;
        }

        if (string.IsNullOrWhiteSpace(spec.TaskId))
            errors.Add(new("taskId", "is required"));
        else if (spec.TaskId.Length > MaxTaskIdLength)
            errors.Add(new("taskId", $"is {spec.TaskId.Length} characters; the limit is {MaxTaskIdLength}"));
        else if (TaskIdProblem(spec.TaskId) is { } problem)
            errors.Add(new("taskId", problem));

        if (string.IsNullOrWhiteSpace(spec.Mode))
            errors.Add(new("mode", "is required (ephemeral or persistent)"));
        else if (!spec.Mode.Equals("ephemeral", StringComparison.OrdinalIgnoreCase)
                 && !spec.Mode.Equals("persistent", StringComparison.OrdinalIgnoreCase))
            errors.Add(new("mode", $"unknown mode '{spec.Mode}' (expected ephemeral or persistent)"));

        if (string.IsNullOrWhiteSpace(spec.Image))
            errors.Add(new("image", "is required"));

        if (string.IsNullOrWhiteSpace(spec.ScoreCommand))
            errors.Add(new("scoreCommand", "is required"));

        if (spec.Quota is not null && QuotaNames.Problem(spec.Quota) is { } quotaProblem)
            errors.Add(new("quota", quotaProblem));

        ValidateAgent(errors, spec.Agent);
        if (spec.Agent?.IsModel == true
            && (spec.Metadata?.GetValueOrDefault(ProblemStatementKey) is not { } statement || string.IsNullOrWhiteSpace(statement)))
            errors.Add(new($"metadata.{ProblemStatementKey}", "is required for the model agent (it is what the model is asked to solve)"));
        // The scripted agent replays actions and the choice-v1 model agent chooses among them; any other
        // agent may still be given some (ignored).
        if (spec.Actions is null && spec.AgentKind == AgentKinds.Scripted)
            errors.Add(new("actions", "is required for the scripted agent (may be an empty list)"));
        else if (spec.Agent?.IsChoice == true && (spec.Actions is null || spec.Actions.Count == 0))
            errors.Add(new("actions", $"is required and must not be empty for the model agent's {spec.Agent.Template} template (the commands the model chooses among, besides submit)"));
        else if (spec.Agent?.Template == AgentSpec.MenuTemplate && spec.Actions!.Where(a => a != "submit").Distinct(StringComparer.Ordinal).Count() > 25)
            errors.Add(new("actions", $"the {AgentSpec.MenuTemplate} template labels its candidates A to Z: at most 25 distinct commands besides submit"));
        else if (spec.Actions is not null)
            for (var i = 0; i < spec.Actions.Count; i++)
                if (string.IsNullOrWhiteSpace(spec.Actions[i]))
                    errors.Add(new($"actions[{i}]", "is empty"));

        if (spec.MaxRounds <= 0)
            errors.Add(new("maxRounds", $"must be positive (got {spec.MaxRounds})"));
        else if (spec.MaxRounds > MaxRoundsLimit)
            errors.Add(new("maxRounds", $"must be at most {MaxRoundsLimit} (got {spec.MaxRounds})"));

        Positive(errors, "setupTimeoutSeconds", spec.SetupTimeoutSeconds);
        Positive(errors, "runTimeoutSeconds", spec.RunTimeoutSeconds);
        Positive(errors, "scoringTimeoutSeconds", spec.ScoringTimeoutSeconds);
        Positive(errors, "execTimeoutSeconds", spec.ExecTimeoutSeconds);

        if (spec.MaxInfraRetries < 0)
            errors.Add(new("maxInfraRetries", $"must not be negative (got {spec.MaxInfraRetries})"));

        if (double.IsNaN(spec.CpuLimit) || spec.CpuLimit <= 0 || spec.CpuLimit > MaxCpuLimit)
            errors.Add(new("cpuLimit", $"must be more than 0 and at most {MaxCpuLimit} (got {spec.CpuLimit})"));
        if (spec.MemoryLimitMb < MinMemoryLimitMb || spec.MemoryLimitMb > MaxMemoryLimitMb)
            errors.Add(new("memoryLimitMb", $"must be between {MinMemoryLimitMb} and {MaxMemoryLimitMb} (got {spec.MemoryLimitMb})"));
        if (spec.PidsLimit < MinPidsLimit || spec.PidsLimit > MaxPidsLimit)
            errors.Add(new("pidsLimit", $"must be between {MinPidsLimit} and {MaxPidsLimit} (got {spec.PidsLimit})"));
        if (string.IsNullOrWhiteSpace(spec.Network))
            errors.Add(new("network", "must not be empty (\"none\", \"bridge\" or a network's name)"));
        else if (spec.Network.Equals("host", StringComparison.OrdinalIgnoreCase))
            // The host's network namespace would give the agent the node's own interfaces and ports.
            errors.Add(new("network", "\"host\" is not allowed: environments are isolated (use \"none\", \"bridge\" or a user-defined network)"));
        else if (!NetworkName.IsMatch(spec.Network))
            errors.Add(new("network", $"'{spec.Network}' is not a network name (letters, digits, '_', '.', '-')"));

        // Size check last and per field, so the error says which field is too large.
        var sizes = new (string Field, long Bytes)[]
        {
            ("actions", spec.Actions?.Sum(Bytes) ?? 0),
            ("metadata", spec.Metadata?.Sum(kv => Bytes(kv.Key) + Bytes(kv.Value)) ?? 0),
            ("scoreCommand", Bytes(spec.ScoreCommand)),
            ("image", Bytes(spec.Image)),
            ("pool", Bytes(spec.Pool)),
            ("agent", Bytes(spec.Agent?.Kind) + Bytes(spec.Agent?.Endpoint) + Bytes(spec.Agent?.Model)
                      + Bytes(spec.Agent?.ApiKeyEnv) + Bytes(spec.Agent?.Template) + Bytes(spec.Agent?.Command)),
        };
        var total = sizes.Sum(s => s.Bytes);
        if (total > MaxPayloadBytes)
        {
            var largest = sizes.MaxBy(s => s.Bytes);
            errors.Add(new(largest.Field,
                $"payload too large: the spec is {total} bytes (this field {largest.Bytes}); the limit is {MaxPayloadBytes}"));
        }

        return errors;
    }

    /// <summary>
    /// A task id is one URL path segment (<c>/api/tasks/{id}</c>, escaped by the CLI) and one segment of
    /// an artifact key, so it must come back unchanged from both. <c>.</c> and <c>..</c> are dot segments
    /// that URL normalisation removes and artifact stores refuse. <c>/</c> and <c>\</c> split a path
    /// (ASP.NET Core leaves an escaped <c>%2F</c> undecoded, and many clients turn <c>\</c> into
    /// <c>/</c>). <c>%</c> is refused because a server that decodes a path once leaves <c>%2F</c>
    /// ambiguous and proxies that decode twice change the id. Whitespace and control characters
    /// break command lines and logs, and an unpaired surrogate cannot be encoded as UTF-8 to escape it.
    /// Everything else survives escaping, so <c>:</c>, <c>@</c>, <c>?</c> and <c>#</c> stay allowed
    /// (replica ids are <c>&lt;taskId&gt;#r&lt;k&gt;</c>; SWE-bench ids look like <c>django__django-11099</c>).
    /// </summary>
    private static string? TaskIdProblem(string id)
    {
        if (id is "." or "..")
            return $"'{id}' is not allowed: it is a relative path segment, not a name";
        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            if (char.IsHighSurrogate(c) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                return "contains an unpaired surrogate (not valid Unicode)";
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is '/' or '\\' or '%')
                return "must not contain whitespace, control characters, '/', '\\' or '%' (an id must be one URL path segment)";
        }
        return null;
    }

    private static void ValidateAgent(List<ValidationError> errors, AgentSpec? agent)
    {
        if (agent is null)
            return;
        if (string.IsNullOrWhiteSpace(agent.Kind))
        {
            errors.Add(new("agent.kind", $"is required ({AgentKinds.Listed})"));
            return;
        }
        if (!AgentKinds.All.Contains(agent.Kind, StringComparer.Ordinal))
        {
            errors.Add(new("agent.kind", $"unknown agent kind '{agent.Kind}' (expected {AgentKinds.Listed})"));
            return;
        }
        if (agent.Kind == AgentKinds.Scripted)
        {
            // Settings of a model given to the scripted agent would be silently ignored: say so instead.
            foreach (var (field, set) in new[]
                     {
                         ("endpoint", agent.Endpoint is not null), ("model", agent.Model is not null),
                         ("apiKeyEnv", agent.ApiKeyEnv is not null), ("template", agent.Template is not null),
                         ("temperature", agent.Temperature is not null), ("maxTokens", agent.MaxTokens is not null),
                         ("command", agent.Command is not null),
                     })
                if (set)
                    errors.Add(new($"agent.{field}", "applies to the model or command agent only (agent.kind is scripted)"));
            return;
        }
        if (agent.Kind == AgentKinds.Command)
        {
            if (string.IsNullOrWhiteSpace(agent.Command))
                errors.Add(new("agent.command", "is required for the command agent (the program to run in the environment, e.g. 'python3 agent.py')"));
            // The program talks to the model itself; the prompt and sampling are its own business.
            foreach (var (field, set) in new[]
                     {
                         ("template", agent.Template is not null), ("temperature", agent.Temperature is not null),
                         ("maxTokens", agent.MaxTokens is not null),
                     })
                if (set)
                    errors.Add(new($"agent.{field}", "applies to the model agent only (the command agent's program sends its own requests)"));
        }
        else if (agent.Command is not null)
            errors.Add(new("agent.command", "applies to the command agent only (agent.kind is model)"));

        if (agent.Endpoint is not null)
        {
            if (!Uri.TryCreate(agent.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                errors.Add(new("agent.endpoint", $"'{agent.Endpoint}' is not an absolute http(s) URL (an OpenAI-compatible base URL such as http://host:8000/v1)"));
            else if (!string.IsNullOrEmpty(uri.UserInfo))
                errors.Add(new("agent.endpoint", "must not carry credentials; name an environment variable in agent.apiKeyEnv"));
            if (string.IsNullOrWhiteSpace(agent.Model))
                errors.Add(new("agent.model", "is required when agent.endpoint names an external endpoint"));
        }
        if (agent.Model is not null && string.IsNullOrWhiteSpace(agent.Model))
            errors.Add(new("agent.model", "must not be empty"));
        if (agent.ApiKeyEnv is not null && !EnvName.IsMatch(agent.ApiKeyEnv))
            errors.Add(new("agent.apiKeyEnv", $"'{agent.ApiKeyEnv}' is not an environment variable name (letters, digits, '_'; the key itself never goes in a spec)"));
        if (agent.Template is not null && !AgentSpec.Templates.Contains(agent.Template, StringComparer.Ordinal))
            errors.Add(new("agent.template", $"unknown template '{agent.Template}' (known: {string.Join(", ", AgentSpec.Templates)})"));
        if (agent.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
            errors.Add(new("agent.temperature", $"must be between 0 and 2 (got {t})"));
        if (agent.MaxTokens is { } m && (m <= 0 || m > AgentSpec.MaxTokensLimit))
            errors.Add(new("agent.maxTokens", $"must be between 1 and {AgentSpec.MaxTokensLimit} (got {m})"));
    }

    private static void Positive(List<ValidationError> errors, string field, double value)
    {
        if (double.IsNaN(value) || value <= 0)
            errors.Add(new(field, $"must be positive (got {value})"));
    }

    private static long Bytes(string? s) => s is null ? 0 : Encoding.UTF8.GetByteCount(s);
}
