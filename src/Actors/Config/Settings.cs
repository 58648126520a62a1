using System.Collections.Immutable;
using ActorLab.Actors.Coordinator;
using ActorLab.Model.Common;
using ActorLab.Model.Storage;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Config;

/// <summary>The roles a node can have (one binary; a node has one or both).</summary>
public static class Roles
{
    public const string Coordinator = "coordinator", Trainer = "trainer";
    public static readonly ImmutableArray<string> All = [Coordinator, Trainer];

    public static ImmutableArray<string> Parse(IEnumerable<string> roles, string what)
    {
        var list = roles.Select(r => r.Trim()).Where(r => r.Length > 0).Distinct().ToImmutableArray();
        if (list.IsEmpty) throw new UserInputException($"{what}: a node needs at least one role ({string.Join(", ", All)}).");
        var bad = list.FirstOrDefault(r => !All.Contains(r));
        if (bad != null) throw new UserInputException($"{what}: unknown role '{bad}' (known: {string.Join(", ", All)}).");
        return list;
    }
}

/// <summary>Where a node keeps what: the shared storage root and its own data dir (journal if SQLite, logs, dataset cache).</summary>
public sealed record StorageSettings(string DataDir, string Root)
{
    public RunStorage Storage => new(Root, DataDir);

    public static StorageSettings From(AkkaConfig c, string? source = null)
    {
        var v = new ConfigValues(c, source);
        var dataDir = Path.GetFullPath(v.NonEmpty("actorlab.data-dir"));
        var root = v.String("actorlab.storage.root");
        return new StorageSettings(dataDir, root.Length == 0 ? dataDir : Path.GetFullPath(root));
    }
}

/// <summary>A node's slots and how its trainers get data (from `actorlab.node` and `actorlab.data`).</summary>
public sealed record NodeSettings(ImmutableArray<string> Roles, int Slots, string Device, int CudaDevices, int SlotsPerDevice, int TorchThreads,
    int DataWorkers, int ReadAhead)
{
    public bool IsTrainer => Roles.Contains(Config.Roles.Trainer);
    public bool IsCoordinator => Roles.Contains(Config.Roles.Coordinator);

    /// <summary>The torch device of a slot: CUDA devices hold slots-per-device slots each.</summary>
    public string DeviceOf(int slot) => CudaDevices > 0 ? $"cuda:{slot / SlotsPerDevice}" : "cpu";

    public static NodeSettings From(AkkaConfig c, Func<int> cudaDevices, string? source = null)
    {
        var v = new ConfigValues(c, source);
        var roles = Config.Roles.Parse(v.List("actorlab.node.roles"), "actorlab.node.roles");
        var useCuda = v.OneOf("actorlab.node.use-cuda", "auto", "on", "off");
        var cuda = useCuda == "off" ? 0 : cudaDevices();
        if (useCuda == "on" && cuda == 0) throw v.Error("actorlab.node.use-cuda", "on, but no CUDA device is visible");
        var perDevice = v.Int("actorlab.node.slots-per-device", 1, 64);
        var cpuSlots = v.Int("actorlab.node.cpu-slots", 1, 1024);
        var threads = v.Int("actorlab.node.torch-threads-per-slot", 0, 1024);
        var workers = v.Int("actorlab.data.workers", 1, 64);
        var readAhead = v.Int("actorlab.data.read-ahead", 1, 1024); // a trainer needs at least one batch ahead
        var slots = cuda > 0 ? cuda * perDevice : cpuSlots;
        return new NodeSettings(roles, slots, cuda > 0 ? "cuda" : "cpu", cuda, perDevice, threads, workers, readAhead);
    }
}

/// <summary>The node's data plane for cross-node data parallel (from `actorlab.data-plane`).</summary>
public sealed record DataPlaneSettings(bool Enabled, int Port, TimeSpan ConnectTimeout, TimeSpan StepDeadlineFloor, int StepDeadlineMultiple)
{
    public static DataPlaneSettings From(AkkaConfig c, string? source = null)
    {
        var v = new ConfigValues(c, source);
        var s = new DataPlaneSettings(v.Bool("actorlab.data-plane.enabled"), v.Int("actorlab.data-plane.port", 0, 65535),
            v.Duration("actorlab.data-plane.connect-timeout"), v.Duration("actorlab.data-plane.step-deadline-floor"),
            v.Int("actorlab.data-plane.step-deadline-multiple", 2, 10_000));
        if (s.ConnectTimeout <= TimeSpan.Zero) throw v.Error("actorlab.data-plane.connect-timeout", "must be positive");
        if (s.StepDeadlineFloor <= TimeSpan.Zero) throw v.Error("actorlab.data-plane.step-deadline-floor", "must be positive");
        return s;
    }

    /// <summary>How long one step's all-reduce may wait: max(floor, multiple x median step time).</summary>
    public TimeSpan StepDeadline(TimeSpan medianStep) =>
        TimeSpan.FromTicks(Math.Max(StepDeadlineFloor.Ticks, Math.Min(TimeSpan.FromDays(1).Ticks, medianStep.Ticks * StepDeadlineMultiple)));
}

/// <summary>The coordinator's settings (from `actorlab.coordinator`).</summary>
public sealed record CoordinatorSettings(int SnapshotEvery, SchedulingPolicy Policy, TimeSpan RegistrationTimeout, TimeSpan ResendInterval)
{
    public static CoordinatorSettings From(AkkaConfig c, string? source = null)
    {
        var v = new ConfigValues(c, source);
        var min = v.Duration("actorlab.coordinator.retry-backoff-min");
        var max = v.Duration("actorlab.coordinator.retry-backoff-max");
        if (max < min) throw v.Error("actorlab.coordinator.retry-backoff-max", $"{max} is below retry-backoff-min {min}");
        return new CoordinatorSettings(
            v.Int("actorlab.coordinator.snapshot-every", 1, int.MaxValue),
            new SchedulingPolicy(v.Int("actorlab.coordinator.max-run-attempts", 1, 1000), min, max,
                v.Int("actorlab.coordinator.quarantine-after", 1, 1000),
                v.Duration("actorlab.coordinator.quarantine-for")),
            v.Duration("actorlab.coordinator.registration-timeout"),
            v.Duration("actorlab.coordinator.resend-interval"));
    }
}
