using ActorLab.Actors.Control;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Probes;

/// <summary>A run found through a node: its folder and how many slots the cluster has free right now.</summary>
public sealed record LocatedRun(string RunId, string Status, string RunDir, int FreeSlots, int TotalSlots);

/// <summary>
/// Finds a run of a running ActorLab node for `actorlab probe --run RUN --contact HOST:PORT`, using only the
/// coordinator's public control messages (<see cref="GetStatus"/>, <see cref="GetRuns"/>): the run's id and state,
/// the node's data dir (runs live in DATA/runs/RUN_ID, as the coordinator lays them out) and the free slots.
/// Only a completed run is probed: a running one's newest checkpoint can still be pruned under the probe.
/// </summary>
public static class ProbeRunLocator
{
    public static LocatedRun Locate(string contact, string run)
    {
        using var client = NodeClient.Connect(contact, "actorlab-probe-client");
        var status = client.Ask<StatusReply>(new GetStatus());
        var runs = client.Ask<RunsReply>(new GetRuns(null));
        var matches = runs.Runs.Where(r => r.RunId == run).ToList();
        if (matches.Count == 0) matches = runs.Runs.Where(r => r.RunId.EndsWith("/" + run, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0)
            throw new UserInputException($"the node at {contact} has no run '{run}' (see `actorlab console --contact {contact} runs`)");
        if (matches.Count > 1)
            throw new UserInputException($"run name '{run}' is ambiguous: {string.Join(", ", matches.Select(m => m.RunId))}; give the full run id");
        var r = matches[0];
        if (!string.Equals(r.Status, "Completed", StringComparison.OrdinalIgnoreCase))
            throw new UserInputException($"run '{r.RunId}' is {r.Status.ToLowerInvariant()}; probe a completed run (or one checkpoint of it with --checkpoint)");
        var free = status.Nodes.Sum(n => Math.Max(0, n.Slots - n.Busy));
        var total = status.Nodes.Sum(n => n.Slots);
        return new LocatedRun(r.RunId, r.Status, Path.Combine(status.DataDir, "runs", r.RunId), free, total);
    }
}
