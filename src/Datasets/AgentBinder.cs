using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// Binds a record's <c>agent</c>: either the kind alone (<c>"agent": "model"</c>) or an object
/// (<c>{"kind": "model", "endpoint": "http://host:8000/v1", "model": "m", "apiKeyEnv": "KEY_VAR",
/// "template": "swe-v1", "temperature": 0.2, "maxTokens": 1024}</c>, or <c>{"kind": "command", "command": "python3 agent.py"}</c>). Written by hand rather than with a
/// converter so that every mistake names its <c>agent.&lt;field&gt;</c>; the values themselves
/// (a known kind, a URL, a variable name) are checked by <see cref="TaskSpecValidator"/> afterwards.
/// A null member of the object means "not given", as the management API's clients write it.
/// </summary>
internal static class AgentBinder
{
    /// <summary>Members of the object form, as written in a dataset file.</summary>
    public static IReadOnlyList<string> Fields { get; } =
        ["kind", "endpoint", "model", "apiKeyEnv", "template", "temperature", "maxTokens", "command"];

    /// <summary>The agent, or null after reporting why it cannot be read.</summary>
    public static AgentSpec? Bind(JsonElement element, TaskRecordSource source, LineErrors errors)
    {
        if (element.ValueKind == JsonValueKind.String)
            return new AgentSpec { Kind = element.GetString() };
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add("agent", $"must be an agent kind ({AgentKinds.Listed}) or an object (got {TaskRecordBinder.Describe(element)})");
            return null;
        }

        // The management API binds names case-insensitively, as it does the record's own fields.
        var comparer = source == TaskRecordSource.DatasetFile ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var seen = new HashSet<string>(comparer);
        var before = errors.All.Count;
        string? kind = null, endpoint = null, model = null, apiKeyEnv = null, template = null, command = null;
        double? temperature = null;
        int? maxTokens = null;
        foreach (var p in element.EnumerateObject())
        {
            var name = Fields.FirstOrDefault(f => comparer.Equals(f, p.Name));
            if (name is null)
            {
                errors.Add("agent", Unknown(p.Name));
                continue;
            }
            var field = "agent." + name;
            if (!seen.Add(name))
            {
                errors.Add(field, "appears more than once");
                continue;
            }
            if (p.Value.ValueKind == JsonValueKind.Null)
                continue;
            switch (name)
            {
                case "temperature":
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDouble(out var t) && double.IsFinite(t))
                        temperature = t;
                    else
                        errors.Add(field, $"must be a number (got {TaskRecordBinder.Describe(p.Value)})");
                    break;
                case "maxTokens":
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var m))
                        maxTokens = m;
                    else
                        errors.Add(field, $"must be an integer (got {TaskRecordBinder.Describe(p.Value)})");
                    break;
                default:
                    if (p.Value.ValueKind != JsonValueKind.String)
                    {
                        errors.Add(field, $"must be a string (got {TaskRecordBinder.Describe(p.Value)})");
                        break;
                    }
                    var value = p.Value.GetString();
                    switch (name)
                    {
                        case "kind": kind = value; break;
                        case "endpoint": endpoint = value; break;
                        case "model": model = value; break;
                        case "apiKeyEnv": apiKeyEnv = value; break;
                        case "template": template = value; break;
                        case "command": command = value; break;
                    }
                    break;
            }
        }
        if (!seen.Contains("kind") || (kind is null && !errors.Covers("agent")))
            errors.Add("agent.kind", $"missing required field ({AgentKinds.Listed})");
        if (errors.All.Count > before)
            return null;
        return new AgentSpec
        {
            Kind = kind, Endpoint = endpoint, Model = model, ApiKeyEnv = apiKeyEnv,
            Template = template, Temperature = temperature, MaxTokens = maxTokens, Command = command,
        };
    }

    private static string Unknown(string name)
    {
        // api_key_env, max_tokens, base_url: the spellings of other tools.
        var squashed = Squash(name);
        var suggestion = squashed is "baseurl" or "url" ? "endpoint" : Fields.FirstOrDefault(f => Squash(f) == squashed);
        return suggestion is null
            ? $"unknown field '{name}' (known: {string.Join(", ", Fields)})"
            : $"unknown field '{name}' (did you mean '{suggestion}'?)";
    }

    private static string Squash(string name) => new string(name.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();
}
