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

    public static StorageSettings From(AkkaConfig c)
    {
        var dataDir = Path.GetFullPath(c.GetString("actorlab.data-dir"));
        var root = c.GetString("actorlab.storage.root", "");
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

    public static NodeSettings From(AkkaConfig c, Func<int> cudaDevices)
    {
        var roles = Config.Roles.Parse(c.GetStringList("actorlab.node.roles"), "actorlab.node.roles");
        var useCuda = c.GetString("actorlab.node.use-cuda", "auto");
        if (useCuda is not ("auto" or "on" or "off"))
            throw new UserInputException($"actorlab.node.use-cuda: '{useCuda}' is not auto, on or off.");
        var cuda = useCuda == "off" ? 0 : cudaDevices();
        if (useCuda == "on" && cuda == 0)
            throw new UserInputException("actorlab.node.use-cuda = on, but no CUDA device is visible.");
        var perDevice = c.GetInt("actorlab.node.slots-per-device", 1);
        if (perDevice is < 1 or > 64) throw new UserInputException($"actorlab.node.slots-per-device: {perDevice} is not in 1..64.");
        var cpuSlots = c.GetInt("actorlab.node.cpu-slots", 2);
        if (cpuSlots is < 1 or > 1024) throw new UserInputException($"actorlab.node.cpu-slots: {cpuSlots} is not in 1..1024.");
        var threads = c.GetInt("actorlab.node.torch-threads-per-slot", 1);
        if (threads < 0) throw new UserInputException($"actorlab.node.torch-threads-per-slot: {threads} is negative.");
        var workers = c.GetInt("actorlab.data.workers", 2);
        if (workers is < 1 or > 64) throw new UserInputException($"actorlab.data.workers: {workers} is not in 1..64.");
        var readAhead = c.GetInt("actorlab.data.read-ahead", 4);
        if (readAhead is < 1 or > 1024) throw new UserInputException($"actorlab.data.read-ahead: {readAhead} is not in 1..1024 (a trainer needs at least one batch ahead).");
        var slots = cuda > 0 ? cuda * perDevice : cpuSlots;
        return new NodeSettings(roles, slots, cuda > 0 ? "cuda" : "cpu", cuda, perDevice, threads, workers, readAhead);
    }
}

/// <summary>The coordinator's settings (from `actorlab.coordinator`).</summary>
public sealed record CoordinatorSettings(int SnapshotEvery, SchedulingPolicy Policy, TimeSpan RegistrationTimeout, TimeSpan ResendInterval)
{
    public static CoordinatorSettings From(AkkaConfig c)
    {
        var snapshotEvery = c.GetInt("actorlab.coordinator.snapshot-every", 200);
        if (snapshotEvery < 1) throw new UserInputException($"actorlab.coordinator.snapshot-every: {snapshotEvery} is not at least 1.");
        var attempts = c.GetInt("actorlab.coordinator.max-run-attempts", 3);
        if (attempts < 1) throw new UserInputException($"actorlab.coordinator.max-run-attempts: {attempts} is not at least 1.");
        TimeSpan Positive(string key, TimeSpan dflt)
        {
            var t = c.GetTimeSpan(key, dflt);
            return t > TimeSpan.Zero ? t : throw new UserInputException($"{key}: {t} is not a positive duration.");
        }
        return new CoordinatorSettings(
            snapshotEvery,
            new SchedulingPolicy(attempts,
                Positive("actorlab.coordinator.retry-backoff-min", TimeSpan.FromSeconds(1)),
                Positive("actorlab.coordinator.retry-backoff-max", TimeSpan.FromSeconds(30)),
                c.GetInt("actorlab.coordinator.quarantine-after", 3),
                Positive("actorlab.coordinator.quarantine-for", TimeSpan.FromMinutes(10))),
            Positive("actorlab.coordinator.registration-timeout", TimeSpan.FromSeconds(20)),
            Positive("actorlab.coordinator.resend-interval", TimeSpan.FromSeconds(2)));
    }
}
