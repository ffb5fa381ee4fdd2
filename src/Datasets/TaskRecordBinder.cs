using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// Binds task records (a dataset line, an element of an API submission) with System.Text.Json into
/// <see cref="TaskRecord"/>, unknown and repeated members disallowed, and turns the serializer's
/// failures into errors that name the field and what was found (<c>maxRounds: must be an integer
/// (got string "10")</c>). The one implementation behind <see cref="DatasetReader"/> and the
/// management API's task submission.
/// </summary>
public static class TaskRecordBinder
{
    private static readonly JsonSerializerOptions FileOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = 32,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    private static readonly JsonSerializerOptions ApiOptions = new(FileOptions)
    {
        PropertyNameCaseInsensitive = true,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    private static readonly Dictionary<string, JsonPropertyInfo> FileMembers = ContractOf(FileOptions);
    private static readonly Dictionary<string, JsonPropertyInfo> ApiMembers = ContractOf(ApiOptions);

    /// <summary>
    /// Binds one record: its shape (fields, types, replicas, dataset), not the domain's checks on the
    /// values, which the caller runs (the dataset reader at once, the task actor on submission).
    /// </summary>
    /// <param name="record">The record; anything but a JSON object is an error.</param>
    /// <param name="source">How forgiving to be (see <see cref="TaskRecordSource"/>).</param>
    /// <param name="defaultDataset">Dataset name for a record that names none; null for none.</param>
    public static TaskRecordBinding Bind(JsonElement record, TaskRecordSource source, string? defaultDataset = null)
    {
        var errors = new LineErrors();
        var spec = BindRecord(record, source, defaultDataset, errors, out var replicas);
        return errors.Any || spec is null
            ? new TaskRecordBinding([], errors.All.ToList())
            : new TaskRecordBinding(Replicas.Expand(spec, replicas), []);
    }

    /// <summary>Binds <paramref name="record"/>, reporting every field error; returns what could be read (null if nothing).</summary>
    internal static TaskSpec? BindRecord(JsonElement record, TaskRecordSource source, string? defaultDataset, LineErrors errors, out int replicas)
    {
        replicas = 1;
        if (record.ValueKind != JsonValueKind.Object)
        {
            errors.Add(null, $"expected a JSON object (got {Describe(record)})");
            return null;
        }
        var options = source == TaskRecordSource.DatasetFile ? FileOptions : ApiOptions;
        var members = Members(options);
        var names = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        // Root members left out of the next binding because their error is already reported.
        var dropped = new HashSet<string>(names);
        var reported = new HashSet<string>(names);
        var repeated = new HashSet<string>(names);
        var failed = new HashSet<string>(StringComparer.Ordinal);

        if (source == TaskRecordSource.DatasetFile)
            foreach (var p in record.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.Null && members.TryGetValue(p.Name, out var member) && dropped.Add(p.Name))
                {
                    errors.Add(p.Name, $"must be {Expected(member.PropertyType)} (got null)");
                    failed.Add(member.Name);
                }

        // The serializer stops at the first problem; to report every field's error in one pass, the
        // member at fault is reported, left out, and the rest bound again. Each round removes a member
        // (or a repetition), so the rounds are bounded by the record's size.
        var input = dropped.Count == 0 ? record : Rebuild(record, dropped, repeated);
        TaskRecord? bound = null;
        for (var round = 0; bound is null; round++)
        {
            try
            {
                bound = input.Deserialize<TaskRecord>(options) ?? new TaskRecord();
            }
            catch (JsonException e) when (round <= record.GetPropertyCount())
            {
                var root = Report(e, input, typeof(TaskRecord), null, options, errors, out var repeatedAtRoot);
                // A member reported twice would mean no progress: stop with what has been said.
                if (root is null || !reported.Add(root))
                    return null;
                failed.Add(members.TryGetValue(root, out var member) ? member.Name : root);
                // A repeated root member keeps its first value; anything else at fault is left out entirely.
                (repeatedAtRoot ? repeated : dropped).Add(root);
                input = Rebuild(record, dropped, repeated);
            }
        }

        foreach (var field in DatasetReader.RequiredFields)
            if (!failed.Contains(field) && members[field].Get!(bound) is null)
                errors.Add(field, "missing required field");

        AgentSpec? agent = null;
        if (bound.Agent is { } agentElement && !failed.Contains("agent"))
        {
            agent = AgentBinder.Bind(agentElement, source, errors);
            if (agent is null) failed.Add("agent");
        }
        // Only the scripted agent replays actions; whether they are required depends on the agent.
        if (bound.Actions is null && !failed.Contains("actions") && !failed.Contains("agent")
            && (agent?.Kind ?? AgentKinds.Scripted) == AgentKinds.Scripted)
            errors.Add("actions", "missing required field");
        else if (bound.Actions is null && failed.Contains("agent"))
            errors.Cover("actions");

        foreach (var member in members.Values.Distinct())
            if (member.Get!(bound) is double d && !double.IsFinite(d))
            {
                var given = record.EnumerateObject().First(p => names.Equals(p.Name, member.Name));
                errors.Add(member.Name, $"must be a number (got {Describe(given.Value)})");
                failed.Add(member.Name);
            }

        var spec = ToSpec(bound, failed) with { Agent = agent };
        if (bound.Replicas is { } n && !failed.Contains("replicas"))
        {
            if (n < 1)
                errors.Add("replicas", $"must be at least 1 (got {n})");
            else if (n > Replicas.MaxReplicas)
                errors.Add("replicas", $"must be at most {Replicas.MaxReplicas} (got {n})");
            else
                replicas = n;
        }
        var dataset = bound.Dataset;
        if (dataset is { Length: 0 })
        {
            errors.Add("dataset", "must not be empty");
            dataset = null;
        }
        return spec with { Metadata = MergeMetadata(spec.Metadata, dataset, defaultDataset, replicas, errors) };
    }

    /// <summary>
    /// Binds one value of type <typeparamref name="T"/> (a string, a list of strings) with the dataset
    /// file's rules, reporting a wrong type under <paramref name="field"/>; null when it is not one.
    /// </summary>
    internal static T? Value<T>(JsonElement value, string field, LineErrors errors) where T : class
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(field, $"must be {Expected(typeof(T))} (got null)");
            return null;
        }
        try
        {
            return value.Deserialize<T>(FileOptions);
        }
        catch (JsonException e)
        {
            Report(e, value, typeof(T), field, FileOptions, errors, out _);
            return null;
        }
    }

    /// <summary>"number 2.5", "string \"x\"", "array", "null": enough to see the mistake.</summary>
    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => $"number {value.GetRawText()}",
        JsonValueKind.String => $"string {Shorten(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => value.ValueKind.ToString().ToLowerInvariant(),
    };

    /// <summary>The parser's message without its trailing position, plus a 1-based column.</summary>
    internal static string Malformed(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0)
            message = message[..cut];
        // The parser's advice ("Change the reader options.") is about our code, not the user's file.
        message = message.Replace(" Change the reader options.", "", StringComparison.Ordinal).TrimEnd();
        return e.BytePositionInLine is { } pos
            ? $"malformed JSON at column {(pos + 1).ToString(CultureInfo.InvariantCulture)}: {message}"
            : $"malformed JSON: {message}";
    }

    /// <summary>
    /// Reports the serializer's failure as an error naming the field; returns the root member it is
    /// about (null when the failure is about the value as a whole). <paramref name="repeatedAtRoot"/>
    /// is true when that member itself was given twice.
    /// </summary>
    private static string? Report(JsonException e, JsonElement input, Type type, string? prefix, JsonSerializerOptions options, LineErrors errors, out bool repeatedAtRoot)
    {
        repeatedAtRoot = false;
        var path = ParsePath(e.Path);
        var field = FieldName(prefix, path);
        if (path is null || path.Count == 0)
        {
            errors.Add(field.Length == 0 ? null : field, path is null ? StripPosition(e.Message) : $"must be {Expected(type)} (got {Describe(input)})");
            return null;
        }

        var names = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var root = path[0].Name ?? "";
        var parent = input;
        for (var i = 0; i < path.Count - 1 && parent.ValueKind != JsonValueKind.Undefined; i++)
            parent = Child(parent, path[i]);
        var last = path[^1];
        var value = parent.ValueKind == JsonValueKind.Undefined ? default : Child(parent, last);

        if (last.Name is { } name && parent.ValueKind == JsonValueKind.Object
            && parent.EnumerateObject().Count(p => names.Equals(p.Name, name)) > 1)
        {
            errors.Add(field, "appears more than once");
            repeatedAtRoot = path.Count == 1;
            return root;
        }
        if (prefix is null && path.Count == 1 && !Members(options).ContainsKey(root))
        {
            errors.Add(null, UnknownField(root));
            return root;
        }
        var expected = TypeAt(type, path, options);
        // A member bound as a JsonElement (agent) fails as a whole on a name given twice inside it: name that one.
        if ((Nullable.GetUnderlyingType(expected ?? typeof(object)) ?? expected) == typeof(JsonElement) && value.ValueKind == JsonValueKind.Object
            && value.EnumerateObject().GroupBy(p => p.Name, names).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            errors.Add($"{field}.{twice.Key}", "appears more than once");
            return root;
        }
        errors.Add(field, expected is not null && value.ValueKind != JsonValueKind.Undefined
            ? $"must be {Expected(expected)} (got {Describe(value)})"
            : StripPosition(e.Message));
        return root;
    }

    private readonly record struct Segment(string? Name, int Index);

    /// <summary>"$.metadata['a b']" → metadata, a b; "$.actions[1]" → actions, [1]; null when unreadable.</summary>
    private static List<Segment>? ParsePath(string? path)
    {
        if (path is null || !path.StartsWith('$'))
            return null;
        var segments = new List<Segment>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                if (end < 0) end = path.Length;
                segments.Add(new Segment(path[(i + 1)..end], -1));
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) return null;
                segments.Add(new Segment(path[(i + 2)..end], -1));
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                if (end < 0 || !int.TryParse(path.AsSpan(i + 1, end - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index)) return null;
                segments.Add(new Segment(null, index));
                i = end + 1;
            }
            else return null;
        }
        return segments;
    }

    private static string FieldName(string? prefix, List<Segment>? path)
    {
        var text = prefix ?? "";
        foreach (var s in path ?? [])
            text += s.Name is null ? $"[{s.Index}]" : text.Length == 0 ? s.Name : $".{s.Name}";
        return text;
    }

    private static JsonElement Child(JsonElement parent, Segment s)
    {
        if (s.Name is { } name && parent.ValueKind == JsonValueKind.Object)
            return parent.EnumerateObject().LastOrDefault(p => p.Name == name).Value;
        if (s.Name is null && parent.ValueKind == JsonValueKind.Array && s.Index < parent.GetArrayLength())
            return parent[s.Index];
        return default;
    }

    /// <summary>The .NET type the serializer expected at <paramref name="path"/>.</summary>
    private static Type? TypeAt(Type type, List<Segment> path, JsonSerializerOptions options)
    {
        Type? current = type;
        foreach (var s in path)
        {
            if (current is null) return null;
            current = Nullable.GetUnderlyingType(current) ?? current;
            if (current == typeof(TaskRecord))
                current = s.Name is { } name && Members(options).TryGetValue(name, out var m) ? m.PropertyType : null;
            else if (current.IsGenericType && current.GetGenericTypeDefinition() == typeof(Dictionary<,>) && s.Name is not null)
                current = current.GetGenericArguments()[1];
            else if (current.IsGenericType && current.GetGenericTypeDefinition() == typeof(List<>) && s.Name is null)
                current = current.GetGenericArguments()[0];
            else
                return null;
        }
        return current;
    }

    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "a string";
        if (type == typeof(int)) return "an integer";
        if (type == typeof(double)) return "a number";
        if (type == typeof(List<string>)) return "an array of strings";
        if (type == typeof(Dictionary<string, string>)) return "an object with string values";
        if (type == typeof(JsonElement)) return "an agent kind or an object";
        return $"a {type.Name}";
    }

    private static Dictionary<string, JsonPropertyInfo> Members(JsonSerializerOptions options) =>
        options.PropertyNameCaseInsensitive ? ApiMembers : FileMembers;

    /// <summary>The record's members by JSON name, from the serializer's own contract for <see cref="TaskRecord"/>.</summary>
    private static Dictionary<string, JsonPropertyInfo> ContractOf(JsonSerializerOptions options)
    {
        var names = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        return options.GetTypeInfo(typeof(TaskRecord)).Properties.ToDictionary(p => p.Name, names);
    }

    /// <summary>The record without the <paramref name="dropped"/> members and with the <paramref name="repeated"/> ones given once.</summary>
    private static JsonElement Rebuild(JsonElement record, HashSet<string> dropped, HashSet<string> repeated)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            var written = new HashSet<string>(repeated.Comparer);
            writer.WriteStartObject();
            foreach (var p in record.EnumerateObject())
                if (!dropped.Contains(p.Name) && (!repeated.Contains(p.Name) || written.Add(p.Name)))
                    p.WriteTo(writer);
            writer.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    private static TaskSpec ToSpec(TaskRecord r, HashSet<string> failed)
    {
        var defaults = new TaskSpec();
        return new TaskSpec
        {
            TaskId = r.TaskId,
            Mode = r.Mode,
            Image = r.Image,
            Pool = r.Pool,
            Quota = r.Quota,
            Actions = r.Actions,
            ScoreCommand = r.ScoreCommand,
            MaxRounds = r.MaxRounds ?? defaults.MaxRounds,
            SetupTimeoutSeconds = Finite(r.SetupTimeoutSeconds) ?? defaults.SetupTimeoutSeconds,
            RunTimeoutSeconds = Finite(r.RunTimeoutSeconds) ?? defaults.RunTimeoutSeconds,
            ScoringTimeoutSeconds = Finite(r.ScoringTimeoutSeconds) ?? defaults.ScoringTimeoutSeconds,
            ExecTimeoutSeconds = Finite(r.ExecTimeoutSeconds) ?? defaults.ExecTimeoutSeconds,
            MaxInfraRetries = r.MaxInfraRetries ?? defaults.MaxInfraRetries,
            CpuLimit = Finite(r.CpuLimit) ?? defaults.CpuLimit,
            MemoryLimitMb = r.MemoryLimitMb ?? defaults.MemoryLimitMb,
            PidsLimit = r.PidsLimit ?? defaults.PidsLimit,
            Network = r.Network ?? defaults.Network,
            Metadata = failed.Contains("metadata") ? null : r.Metadata,
        };
    }

    private static double? Finite(double? d) => d is { } v && double.IsFinite(v) ? v : null;

    private static IReadOnlyDictionary<string, string>? MergeMetadata(
        IReadOnlyDictionary<string, string>? metadata, string? dataset, string? defaultDataset, int replicas, LineErrors errors)
    {
        if (replicas > 1 && metadata is not null)
            foreach (var reserved in new[] { Replicas.GroupKey, Replicas.ReplicaKey })
                if (metadata.ContainsKey(reserved))
                    errors.Add($"metadata.{reserved}", "is set from replicas; remove it from metadata");

        if (dataset is not null && metadata is not null && metadata.TryGetValue(DatasetReader.DatasetKey, out var inMetadata)
            && inMetadata != dataset)
            errors.Add("dataset", $"'{dataset}' differs from metadata.dataset '{inMetadata}'; give it once");

        var effective = dataset ?? (metadata is not null && metadata.ContainsKey(DatasetReader.DatasetKey) ? null : defaultDataset);
        if (effective is null)
            return metadata;
        var merged = metadata is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        merged[DatasetReader.DatasetKey] = effective;
        return merged;
    }

    private static string UnknownField(string name)
    {
        // The common mistake is the case (task_id, TaskId, scorecommand): point at the real name.
        var squashed = Squash(name);
        var suggestion = DatasetReader.Fields.FirstOrDefault(f => Squash(f) == squashed);
        return suggestion is null
            ? $"unknown field '{name}'"
            : $"unknown field '{name}' (did you mean '{suggestion}'?)";
    }

    private static string Squash(string name) =>
        new string(name.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();

    private static string StripPosition(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut >= 0 ? message[..cut] : message;
    }

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : raw[..37] + "...";
}
