using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Node;

/// <summary>Slots and timing of a node (from `actorlab.node` and `actorlab.data`).</summary>
public sealed record NodeSettings(int Slots, string Device, TimeSpan Heartbeat, int DataWorkers, int ReadAhead)
{
    public static NodeSettings From(Akka.Configuration.Config c)
    {
        var useCuda = c.GetString("actorlab.node.use-cuda", "auto");
        var cuda = useCuda == "off" ? 0 : DeviceProbe.CudaDevices();
        if (useCuda == "on" && cuda == 0)
            throw new ActorLab.Model.Common.UserInputException("actorlab.node.use-cuda = on, but no CUDA device is visible.");
        var slots = cuda > 0 ? cuda : c.GetInt("actorlab.node.cpu-slots", 2);
        if (slots < 1) throw new ActorLab.Model.Common.UserInputException($"actorlab.node.cpu-slots: {slots} is not at least 1.");
        return new NodeSettings(slots, cuda > 0 ? "cuda" : "cpu", c.GetTimeSpan("actorlab.node.heartbeat-interval", TimeSpan.FromSeconds(2)),
            c.GetInt("actorlab.data.workers", 2), c.GetInt("actorlab.data.read-ahead", 4));
    }
}

/// <summary>How many CUDA devices TorchSharp sees (0 on CPU builds or machines without a GPU).</summary>
public static class DeviceProbe
{
    public static int CudaDevices()
    {
        try { return TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0; }
        catch { return 0; }
    }
}

/// <summary>
/// One per host: owns a <see cref="TrainerActor"/> per slot, announces the slots to the coordinator (and
/// re-announces every heartbeat with the leases it holds), and places a run's ranks on the slots the lease names.
/// A data-parallel run's ranks share a <see cref="RunGroup"/> (in-process all-reduce).
/// </summary>
public sealed class NodeAgent : ReceiveActor, IWithTimers
{
    sealed class Heartbeat
    {
        public static readonly Heartbeat Instance = new();
    }

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly string _nodeId;
    readonly NodeSettings _settings;
    readonly IActorRef _coordinator;
    readonly IActorRef[] _trainers;
    /// <summary>Which (run, epoch) each slot trains, and the run's group.</summary>
    readonly (string RunId, long Epoch, RunGroup Group)?[] _busy;
    /// <summary>Starts whose slots are still finishing a previous run (its report can reach the coordinator first).</summary>
    readonly List<StartRun> _pending = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string nodeId, NodeSettings settings, IActorRef coordinator, ITrainingBackend backend) =>
        Akka.Actor.Props.Create(() => new NodeAgent(nodeId, settings, coordinator, backend));

    public NodeAgent(string nodeId, NodeSettings settings, IActorRef coordinator, ITrainingBackend backend)
    {
        _nodeId = nodeId;
        _settings = settings;
        _coordinator = coordinator;
        _busy = new (string, long, RunGroup)?[settings.Slots];
        _trainers = Enumerable.Range(0, settings.Slots)
            .Select(i => Context.ActorOf(TrainerActor.Props(i, backend, settings.DataWorkers, settings.ReadAhead), $"trainer-{i}"))
            .ToArray();

        Receive<Heartbeat>(_ => Announce());
        Receive<StartRun>(Start);
        Receive<StopRun>(s =>
        {
            for (var i = 0; i < _busy.Length; i++)
                if (_busy[i] is { } b && b.RunId == s.RunId && b.Epoch == s.Epoch)
                    _trainers[i].Tell(s);
        });
        Receive<TrainerActor.SlotFreed>(f =>
        {
            if (_busy[f.Slot] is { } b && b.RunId == f.RunId && b.Epoch == f.Epoch)
            {
                _busy[f.Slot] = null;
                if (!_busy.Any(x => x?.Group == b.Group)) b.Group.Dispose();
            }
            foreach (var p in _pending.ToList())
                if (p.Slots.All(s => _busy[s] == null))
                {
                    _pending.Remove(p);
                    Start(p);
                }
            Announce();
        });
    }

    protected override void PreStart()
    {
        Announce();
        Timers.StartPeriodicTimer("heartbeat", Heartbeat.Instance, _settings.Heartbeat);
    }

    // a trainer that throws outside a step is restarted; its run's attempt is reported failed by the trainer itself
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart);

    void Announce()
    {
        var leases = _busy.Where(b => b != null).Select(b => new LeaseHeld(b!.Value.RunId, b.Value.Epoch)).Distinct().ToImmutableArray();
        _coordinator.Tell(new RegisterNode(_nodeId, Self, _settings.Slots, _settings.Device, leases));
    }

    void Start(StartRun run)
    {
        var bad = run.Slots.Where(s => s < 0 || s >= _settings.Slots).Select(s => (int?)s).FirstOrDefault();
        if (run.Slots.IsEmpty || bad != null)
        {
            var why = run.Slots.IsEmpty ? "no slots in the lease" : $"slot {bad} does not exist on {_nodeId} ({_settings.Slots} slots)";
            _log.Warning("run={0} epoch={1} event=refused reason=\"{2}\"", run.RunId, run.Epoch, why);
            run.Coordinator.Tell(new ReportRunFailed(run.RunId, run.Epoch, why, DateTimeOffset.UtcNow));
            return;
        }
        if (run.Slots.Any(s => _busy[s] != null))
        {
            // the slot's previous run is ending (it reported, it has not freed the slot yet): start when it has
            _pending.Add(run);
            return;
        }
        Directory.CreateDirectory(run.RunDir);
        var group = new RunGroup(run.RunId, run.Epoch, run.WorldSize);
        for (var rank = 0; rank < run.Slots.Length; rank++)
        {
            var slot = run.Slots[rank];
            _busy[slot] = (run.RunId, run.Epoch, group);
            _trainers[slot].Tell(new TrainerActor.Assign(run, rank, group));
        }
    }
}
