using System.Text.Json;
using MegaFlow.Contracts.Tasks;

namespace MegaFlow.Datasets;

/// <summary>
/// Maps one JSON object to a spec (before replica expansion), reporting problems into
/// <paramref name="errors"/>. May return a partial spec alongside errors so the remaining fields are
/// still validated; returns null when nothing useful could be read.
/// </summary>
internal delegate TaskSpec? RecordMapper(JsonElement record, LineErrors errors, out int replicas);

/// <summary>
/// The reading loop shared by every JSONL format: one line at a time (the file is never held whole),
/// each record mapped, expanded into replicas, validated and checked for duplicate ids across the
/// whole file; every error carries its line number.
/// </summary>
internal static class JsonlPipeline
{
    private static readonly JsonDocumentOptions ParseOptions = new()
    {
        // Strict JSON: a trailing comma or a comment inside a record is a mistake worth reporting.
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 32,
    };

    public static DatasetReadResult Read(
        TextReader reader, RecordMapper map, bool skipInvalidLines, int maxErrors, int maxLineLength)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var specs = new List<TaskSpec>();
        var errors = new List<DatasetError>();
        var errorCount = 0;
        var records = 0;
        var invalid = 0;
        // Expanded task id -> line that first used it; kept for every line, valid or not, so a
        // duplicate always names the earlier line.
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);

        var lineNumber = 0;
        while (reader.ReadLine() is { } text)
        {
            lineNumber++;
            if (lineNumber == 1 && text.Length > 0 && text[0] == '\uFEFF')
                text = text[1..];
            var trimmed = text.AsSpan().Trim();
            if (trimmed.IsEmpty || trimmed[0] == '#')
                continue;
            records++;

            var lineErrors = new LineErrors();
            var expanded = ReadRecord(text, map, maxLineLength, lineErrors);
            CheckDuplicates(expanded, lineNumber, firstLine, lineErrors);

            if (lineErrors.Any)
            {
                invalid++;
                foreach (var e in lineErrors.All)
                {
                    errorCount++;
                    if (errors.Count < maxErrors)
                        errors.Add(new DatasetError(lineNumber, e.Field.Length == 0 ? null : e.Field, e.Message));
                }
                // Nothing will be submitted: stop holding specs.
                if (!skipInvalidLines)
                    specs.Clear();
            }
            else if (skipInvalidLines || errorCount == 0)
                specs.AddRange(expanded);
        }

        return new DatasetReadResult(specs, errors, errorCount, records, invalid);
    }

    private static List<TaskSpec> ReadRecord(string text, RecordMapper map, int maxLineLength, LineErrors errors)
    {
        if (text.Length > maxLineLength)
        {
            errors.Add(null, $"line is {text.Length} characters long; the limit is {maxLineLength}");
            return [];
        }

        TaskSpec? spec;
        int replicas;
        try
        {
            using var doc = JsonDocument.Parse(text, ParseOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add(null, $"expected a JSON object (got {TaskRecordBinder.Describe(doc.RootElement)})");
                return [];
            }
            // Strings are copied out of the document, so it can be disposed here.
            spec = map(doc.RootElement, errors, out replicas);
        }
        catch (JsonException e)
        {
            errors.Add(null, TaskRecordBinder.Malformed(e));
            return [];
        }
        if (spec is null)
            return [];

        var expanded = Replicas.Expand(spec, replicas);
        // Replicas differ only in id and replica number: validating the last one (the longest id)
        // covers them all without repeating each error N times.
        errors.AddValidation(expanded[^1]);
        return expanded;
    }

    private static void CheckDuplicates(
        List<TaskSpec> expanded, int lineNumber, Dictionary<string, int> firstLine, LineErrors errors)
    {
        if (expanded.Count == 0 || string.IsNullOrEmpty(expanded[0].TaskId) || errors.Covers("taskId"))
            return;
        foreach (var spec in expanded)
            if (firstLine.TryGetValue(spec.TaskId!, out var first))
            {
                errors.Add("taskId", $"duplicate task id '{spec.TaskId}' (first on line {first})");
                break;
            }
        foreach (var spec in expanded)
            firstLine.TryAdd(spec.TaskId!, lineNumber);
    }
}
