using System.Collections.Frozen;
using MegaFlow.Contracts.Environments;
using MegaFlow.Contracts.Scheduling;
using MegaFlow.Contracts.Tasks;
using MegaFlow.Contracts.Training;

namespace MegaFlow.Protocol.Serialization;

/// <summary>
/// The wire contract: one stable manifest per protocol type. Never reuse or change a manifest that
/// has shipped (journals hold it forever); add new ones. A test fails if a protocol type lacks one.
/// </summary>
public static class ProtocolManifests
{
    private static readonly (string Manifest, Type Type)[] Table =
    [
        // task events (journal)
        ("te.sub", typeof(TaskEvents.Submitted)),
        ("te.que", typeof(TaskEvents.Queued)),
        ("te.adm", typeof(TaskEvents.Admitted)),
        ("te.run", typeof(TaskEvents.RunStarted)),
        ("te.stp", typeof(TaskEvents.StepRecorded)),
        ("te.sco", typeof(TaskEvents.ScoringStarted)),
        ("te.cmp", typeof(TaskEvents.Completed)),
        ("te.atf", typeof(TaskEvents.AttemptFailed)),
        ("te.fai", typeof(TaskEvents.Failed)),
        ("te.tmo", typeof(TaskEvents.TimedOut)),
        ("te.can", typeof(TaskEvents.Cancelled)),
        ("te.rel", typeof(TaskEvents.LeaseReleased)),
        ("te.mcl", typeof(TaskEvents.ModelCallRecorded)),
        // training
        ("tr.trj", typeof(MegaFlow.Contracts.Training.Trajectory)),
        ("tr.req", typeof(MegaFlow.Contracts.Training.RequestTrajectories)),
        // trainer (journal: experiment-{id} and trainer)
        ("xe.sta", typeof(ExperimentEvents.ExperimentStarted)),
        ("xe.adm", typeof(ExperimentEvents.StepAdmitted)),
        ("xe.eva", typeof(ExperimentEvents.EvaluationAdmitted)),
        ("xe.trn", typeof(ExperimentEvents.StepTrained)),
        ("xe.evs", typeof(ExperimentEvents.EvaluationScored)),
        ("xe.drp", typeof(ExperimentEvents.TrajectoriesDropped)),
        ("xe.fin", typeof(ExperimentEvents.ExperimentFinished)),
        ("xe.reg", typeof(ExperimentEvents.ExperimentRegistered)),
        // trainer messages
        ("xm.sta", typeof(TrainerProtocol.StartExperiment)),
        ("xm.aok", typeof(TrainerProtocol.ExperimentAccepted)),
        ("xm.arj", typeof(TrainerProtocol.ExperimentRejected)),
        ("xm.get", typeof(TrainerProtocol.GetExperiment)),
        ("xm.lst", typeof(TrainerProtocol.ListExperiments)),
        ("xm.exl", typeof(TrainerProtocol.ExperimentList)),
        ("xm.pau", typeof(TrainerProtocol.PauseIntake)),
        ("xr", typeof(ExperimentReport)),
        // task messages
        ("tm.sub", typeof(TaskProtocol.SubmitTask)),
        ("tm.sok", typeof(TaskProtocol.SubmitAccepted)),
        ("tm.srj", typeof(TaskProtocol.SubmitRejected)),
        ("tm.can", typeof(TaskProtocol.CancelTask)),
        ("tm.cok", typeof(TaskProtocol.CancelAccepted)),
        ("tm.crj", typeof(TaskProtocol.CancelRejected)),
        ("tm.get", typeof(TaskProtocol.GetTaskState)),
        ("tm.chg", typeof(TaskProtocol.TaskStatusChanged)),
        ("tm.qok", typeof(TaskProtocol.QueueConfirmed)),
        ("tm.adm", typeof(TaskProtocol.AdmitTask)),
        ("tm.rok", typeof(TaskProtocol.ReleaseConfirmed)),
        ("tm.elo", typeof(TaskProtocol.LeasedEnvironmentLost)),
        ("tm.chl", typeof(TaskProtocol.CheckLease)),
        ("tm.lhd", typeof(TaskProtocol.LeaseHeld)),
        ("tm.mca", typeof(TaskProtocol.AuthorizeModelCall)),
        ("tm.mck", typeof(TaskProtocol.ModelCallAllowed)),
        ("tm.mcr", typeof(TaskProtocol.ModelCallRefused)),
        ("tm.mcw", typeof(TaskProtocol.RecordModelCall)),
        ("ts", typeof(TaskState)),
        ("tm.lst", typeof(TaskProtocol.ListTasks)),
        ("tl", typeof(TaskListing)),
        ("tm.rch", typeof(TaskProtocol.ReadTaskChanges)),
        ("tch", typeof(TaskChanges)),
        ("trs", typeof(TaskReadModelSnapshot)),
        // scheduler
        ("se.enq", typeof(SchedulerEvents.Enqueued)),
        ("se.adm", typeof(SchedulerEvents.Admitted)),
        ("se.est", typeof(SchedulerEvents.EnvironmentStarted)),
        ("se.rel", typeof(SchedulerEvents.Released)),
        ("se.nup", typeof(SchedulerEvents.NodeJoined)),
        ("se.ndn", typeof(SchedulerEvents.NodeLeft)),
        ("se.ret", typeof(SchedulerEvents.EnvironmentRetired)),
        ("ss", typeof(SchedulerSnapshot)),
        ("sm.enq", typeof(SchedulerProtocol.EnqueueTask)),
        ("sm.rel", typeof(SchedulerProtocol.ReleaseTask)),
        ("sm.est", typeof(SchedulerProtocol.EnvironmentStartFinished)),
        ("sm.ret", typeof(SchedulerProtocol.RetireEnvironment)),
        ("sm.chp", typeof(SchedulerProtocol.CheckPooled)),
        ("sm.pls", typeof(SchedulerProtocol.PoolListing)),
        ("sm.drn", typeof(SchedulerProtocol.DrainPools)),
        ("sm.drd", typeof(SchedulerProtocol.PoolsDrained)),
        ("sm.get", typeof(SchedulerProtocol.GetSchedulerState)),
        ("sm.sta", typeof(SchedulerProtocol.SchedulerStatus)),
        ("sm.qdc", typeof(SchedulerProtocol.QueueDepthChanged)),
        ("sm.img", typeof(SchedulerProtocol.ReportNodeImages)),
        ("sm.gls", typeof(SchedulerProtocol.GetSchedulerLeases)),
        ("sm.lss", typeof(SchedulerProtocol.SchedulerLeases)),
        // environment events (journal)
        ("ee.req", typeof(EnvironmentEvents.Requested)),
        ("ee.prv", typeof(EnvironmentEvents.Provisioned)),
        ("ee.lea", typeof(EnvironmentEvents.Leased)),
        ("ee.rst", typeof(EnvironmentEvents.ResetStarted)),
        ("ee.rdn", typeof(EnvironmentEvents.ResetCompleted)),
        ("ee.des", typeof(EnvironmentEvents.Destroyed)),
        ("ee.los", typeof(EnvironmentEvents.Lost)),
        ("es", typeof(EnvironmentState)),
        // environment messages
        ("em.prv", typeof(EnvironmentProtocol.Provision)),
        ("em.lea", typeof(EnvironmentProtocol.Lease)),
        ("em.rdy", typeof(EnvironmentProtocol.EnvironmentReady)),
        ("em.fai", typeof(EnvironmentProtocol.EnvironmentFailed)),
        ("em.exe", typeof(EnvironmentProtocol.Exec)),
        ("em.exr", typeof(EnvironmentProtocol.ExecResult)),
        ("em.rst", typeof(EnvironmentProtocol.Reset)),
        ("em.rdn", typeof(EnvironmentProtocol.ResetDone)),
        ("em.des", typeof(EnvironmentProtocol.Destroy)),
        ("em.ddn", typeof(EnvironmentProtocol.DestroyDone)),
        ("em.get", typeof(EnvironmentProtocol.GetEnvironmentState)),
        ("em.die", typeof(EnvironmentProtocol.ResourceDied)),
    ];

    public static readonly FrozenDictionary<Type, string> ByType = Table.ToFrozenDictionary(t => t.Type, t => t.Manifest);
    public static readonly FrozenDictionary<string, Type> ByManifest = Table.ToFrozenDictionary(t => t.Manifest, t => t.Type);
}
