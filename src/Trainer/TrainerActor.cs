using Akka.Actor;
using Akka.Persistence;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;
using static MegaFlow.Contracts.Training.TrainerProtocol;
using static MegaFlow.Contracts.Training.ExperimentEvents;

namespace MegaFlow.Trainer;

/// <summary>
/// The trainer: a cluster singleton on the <c>trainer</c> role, parent of one <see cref="ExperimentActor"/>
/// per experiment. A singleton because the policy is one set of weights served by the model nodes
/// under one name: two trainers would each publish versions of the same model. For the same reason it
/// runs one experiment at a time; a second is refused (naming the running one) until the first is over.
/// Its own journal lists the experiments, so after a failover (the singleton moving to another trainer
/// node, or the node restarting) every unfinished one resumes from its journal.
/// </summary>
public sealed class TrainerActor : ReceivePersistentActor
{
    public const string PersistenceIdValue = "trainer";

    private readonly TrainerParts _parts;
    private readonly List<string> _experiments = [];

    public TrainerActor(TrainerParts parts)
    {
        _parts = parts;
        Recover<ExperimentRegistered>(e => _experiments.Add(e.Id));
        Recover<RecoveryCompleted>(_ =>
        {
            // Each recovers its own journal and carries on unless it is over.
            foreach (var id in _experiments) Child(id, null);
        });
        Command<StartExperiment>(OnStart);
        Command<StartChecked>(OnStartChecked);
        Command<GetExperiment>(m =>
        {
            if (_experiments.Contains(m.Id)) Child(m.Id, null).Forward(m);
            else Sender.Tell(new ExperimentRejected(m.Id, [new("id", $"no experiment '{m.Id}'")]));
        });
        Command<PauseIntake>(m =>
        {
            if (_experiments.Contains(m.Id)) Child(m.Id, null).Forward(m);
            else Sender.Tell(new ExperimentRejected(m.Id, [new("id", $"no experiment '{m.Id}'")]));
        });
        CommandAsync<ListExperiments>(async _ =>
        {
            var sender = Sender;
            var reports = await Task.WhenAll(_experiments.Select(id => Child(id, null).Ask<ExperimentReport>(new GetExperiment(id), TimeSpan.FromSeconds(10))));
            sender.Tell(new ExperimentList(reports));
        });
    }

    public override string PersistenceId => PersistenceIdValue;

    public static Props Props(TrainerParts parts) => Akka.Actor.Props.Create(() => new TrainerActor(parts));

    private void OnStart(StartExperiment m)
    {
        var errors = ExperimentSpecValidator.Validate(m.Spec);
        if (errors.Count > 0)
        {
            Sender.Tell(new ExperimentRejected(m.Spec?.Id ?? "", errors));
            return;
        }
        var id = m.Spec.Id!;
        if (_experiments.Contains(id))
        {
            Child(id, m.Spec).Forward(m);
            return;
        }
        var sender = Sender;
        if (_experiments.Count == 0)
        {
            Register(m, sender);
            return;
        }
        // One at a time: the last one must be over. Asked, not awaited: the trainer keeps answering meanwhile.
        var last = _experiments[^1];
        Child(last, null).Ask<ExperimentReport>(new GetExperiment(last), TimeSpan.FromSeconds(10))
            .PipeTo(Self, success: r => new StartChecked(m, sender, r.Status == ExperimentStatuses.Running ? last : null),
                failure: _ => new StartChecked(m, sender, last));
    }

    private void OnStartChecked(StartChecked c)
    {
        var id = c.Start.Spec.Id!;
        if (_experiments.Contains(id))
            Child(id, c.Start.Spec).Tell(c.Start, c.Sender);
        else if (c.Running is { } running)
            c.Sender.Tell(new ExperimentRejected(id, [new ValidationError("id", $"experiment '{running}' is still running on this trainer; start '{id}' when it is over")]));
        else
            Register(c.Start, c.Sender);
    }

    private void Register(StartExperiment m, IActorRef sender) =>
        Persist(new ExperimentRegistered(m.Spec.Id!), e =>
        {
            _experiments.Add(e.Id);
            Child(e.Id, m.Spec).Tell(m, sender);
        });

    private sealed record StartChecked(StartExperiment Start, IActorRef Sender, string? Running);

    private IActorRef Child(string id, ExperimentSpec? spec)
    {
        var name = Uri.EscapeDataString(id);
        var existing = Context.Child(name);
        return existing.IsNobody() ? Context.ActorOf(ExperimentActor.Props(id, spec, _parts), name) : existing;
    }
}
