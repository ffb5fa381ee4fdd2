using System.Collections;
using System.Reflection;

namespace MegaFlow.Actors.Tests.Serialization;

/// <summary>
/// Deep value comparison for protocol records: records compare collections by reference, so
/// <c>Equals</c> alone cannot tell whether a round trip kept a list's contents.
/// </summary>
public static class Structural
{
    /// <summary>Paths (e.g. "Spec.Actions[1]") where the two object graphs differ; empty when equal.</summary>
    public static IReadOnlyList<string> Differences(object? expected, object? actual)
    {
        var diffs = new List<string>();
        Compare(expected, actual, "$", diffs);
        return diffs;
    }

    /// <summary>Paths of reference or nullable members that are null, so samples exercise every field.</summary>
    public static IReadOnlyList<string> NullMembers(object? value)
    {
        var nulls = new List<string>();
        FindNulls(value, "$", nulls);
        return nulls;
    }

    private static void Compare(object? e, object? a, string path, List<string> diffs)
    {
        if (e is null || a is null)
        {
            if (!(e is null && a is null)) diffs.Add($"{path}: expected {e ?? "null"}, got {a ?? "null"}");
            return;
        }
        if (e.GetType() != a.GetType())
        {
            // Interface-typed members may legally come back as another implementation (List → array).
            if (!(e is IEnumerable && a is IEnumerable && e is not string))
            {
                diffs.Add($"{path}: expected type {e.GetType().Name}, got {a.GetType().Name}");
                return;
            }
        }
        if (IsLeaf(e.GetType()))
        {
            // DateTimeOffset.Equals ignores the offset; a round trip must keep it.
            var same = e is DateTimeOffset ed0 && a is DateTimeOffset ad0 ? ed0.EqualsExact(ad0) : Equals(e, a);
            if (!same) diffs.Add($"{path}: expected {e}, got {a}");
            return;
        }
        if (e is IDictionary ed && a is IDictionary ad)
        {
            if (ed.Count != ad.Count) diffs.Add($"{path}: expected {ed.Count} entries, got {ad.Count}");
            foreach (DictionaryEntry entry in ed)
            {
                if (!ad.Contains(entry.Key)) diffs.Add($"{path}[{entry.Key}]: missing");
                else Compare(entry.Value, ad[entry.Key], $"{path}[{entry.Key}]", diffs);
            }
            return;
        }
        if (e is IEnumerable ee && a is IEnumerable ae)
        {
            var el = ee.Cast<object?>().ToList();
            var al = ae.Cast<object?>().ToList();
            if (el.Count != al.Count) diffs.Add($"{path}: expected {el.Count} items, got {al.Count}");
            for (var i = 0; i < Math.Min(el.Count, al.Count); i++) Compare(el[i], al[i], $"{path}[{i}]", diffs);
            return;
        }
        foreach (var p in Properties(e.GetType()))
            Compare(p.GetValue(e), p.GetValue(a), $"{path}.{p.Name}", diffs);
    }

    private static void FindNulls(object? v, string path, List<string> nulls)
    {
        if (v is null)
        {
            nulls.Add(path);
            return;
        }
        if (IsLeaf(v.GetType())) return;
        if (v is IDictionary d)
        {
            foreach (DictionaryEntry entry in d) FindNulls(entry.Value, $"{path}[{entry.Key}]", nulls);
            return;
        }
        if (v is IEnumerable items)
        {
            var i = 0;
            foreach (var item in items) FindNulls(item, $"{path}[{i++}]", nulls);
            return;
        }
        foreach (var p in Properties(v.GetType())) FindNulls(p.GetValue(v), $"{path}.{p.Name}", nulls);
    }

    private static bool IsLeaf(Type t) =>
        t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(DateTimeOffset) ||
        t == typeof(DateTime) || t == typeof(TimeSpan) || t == typeof(Guid);

    // Record's compiler-generated EqualityContract is protected, so public instance getters are the data.
    private static IEnumerable<PropertyInfo> Properties(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0);
}
