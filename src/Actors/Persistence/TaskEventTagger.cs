using Akka.Persistence.Journal;

namespace MegaFlow.Actors.Persistence;

/// <summary>
/// Tags every task event with "task", so the task list (by status) can be rebuilt from the journal
/// with one tag query instead of replaying every persistence id.
/// </summary>
public sealed class TaskEventTagger : IWriteEventAdapter
{
    public const string Tag = "task";

    private static readonly System.Collections.Immutable.IImmutableSet<string> Tags =
        System.Collections.Immutable.ImmutableHashSet.Create(Tag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => new Tagged(evt, Tags);
}
