using System.Collections.Concurrent;
using ActorLab.Actors.Control;
using ActorLab.Host.Cli;
using ActorLab.Model.Storage;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// One row of the dashboard's runs table: the coordinator's view of a run (state, node, step, latest loss), its
/// configuration from run.json on the shared storage root (null until the run has started once), and its pace.
/// </summary>
public sealed record DashboardRun(
    string Id, string Sweep, string Run, string State, long Step, long? MaxSteps, long CheckpointStep, double? Loss,
    string? Node, long? Epoch, int FailedAttempts, string? Error, double? StepsPerSecond, double? EtaSeconds,
    long? Params, int? NProfiles, int? Relations, int? Layers, string? Hops, double? Capacity = null, double? BitsPerParam = null)
{
    public static DashboardRun Of(RunSummary r, RunRow? config, PanelRun? pace, (double Capacity, double BitsPerParam)? measured = null)
    {
        var (sweep, run) = r.RunId.IndexOf('/') is var i and > 0 ? (r.RunId[..i], r.RunId[(i + 1)..]) : ("", r.RunId);
        return new DashboardRun(r.RunId, sweep, run, r.State, r.Step, config?.MaxSteps, r.CheckpointStep, r.Loss,
            r.Node?.Split('#')[0], r.Epoch, r.FailedAttempts, r.Error, pace?.StepsPerSecond, pace?.Eta?.TotalSeconds,
            config?.NParams, config?.NProfiles, config?.Relations, config?.Layers, config?.TrainedHops,
            measured is { } m && double.IsFinite(m.Capacity) ? m.Capacity : null, measured is { } b && double.IsFinite(b.BitsPerParam) ? b.BitsPerParam : null);
    }
}

/// <summary>
/// The runs' configurations (run.json through <see cref="RunTable.TryReadOne"/>), read once per run from the
/// storage root every node shares; a run not started yet is looked for again next time.
/// </summary>
public sealed class RunConfigs(RunStorage storage)
{
    readonly ConcurrentDictionary<string, RunRow> _known = new(StringComparer.Ordinal);

    /// <summary>
    /// The configuration of a run in the coordinator's table: a run waiting in the queue with no lease has not
    /// written run.json unless an earlier lease did (then it is known already), so it costs no look at the disk:
    /// the 2-second refresh of a 100,000-run sweep probes only the runs that hold a lease.
    /// </summary>
    public RunRow? Of(RunSummary run) =>
        _known.TryGetValue(run.RunId, out var row) ? row : run.State == "queued" && run.Epoch is null ? null : Of(run.RunId);

    public RunRow? Of(string runId)
    {
        if (_known.TryGetValue(runId, out var row)) return row;
        string dir;
        try { dir = storage.RunDir(runId); }
        catch (ActorLab.Model.Common.UserInputException) { return null; }
        if (RunTable.TryReadOne(dir) is not { } fresh) return null;
        _known[runId] = fresh;
        return fresh;
    }

    public string? DirOf(string runId)
    {
        try { return storage.RunDir(runId); }
        catch (ActorLab.Model.Common.UserInputException) { return null; }
    }
}

