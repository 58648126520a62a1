using System.Globalization;
using ActorLab.Actors.Config;
using ActorLab.Actors.Control;
using ActorLab.Model.Common;
using Akka.Actor;
using Akka.Configuration;

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
        var (host, port) = NodeContact.Parse(contact);
        var config = ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp.port = 0
            akka.remote.dot-netty.tcp.hostname = "127.0.0.1"
            akka.loglevel = OFF
            akka.stdout-loglevel = OFF
            akka.remote.log-remote-lifecycle-events = off
            """).WithFallback(ActorLabConfig.Defaults);
        var timeout = config.GetTimeSpan("actorlab.console.ask-timeout", TimeSpan.FromSeconds(5));
        using var system = ActorSystem.Create("actorlab-probe-client", config);
        try
        {
            IActorRef coordinator;
            try
            {
                coordinator = system.ActorSelection($"akka.tcp://{ActorLabRuntime.SystemName}@{host}:{port}/user/coordinator")
                    .ResolveOne(timeout).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is ActorNotFoundException or AskTimeoutException or TimeoutException)
            {
                throw new UserInputException($"no ActorLab node answers at {contact} (is `actorlab node --port {port}` running?)");
            }
            T Ask<T>(object m)
            {
                try { return coordinator.Ask<T>(m, timeout).GetAwaiter().GetResult(); }
                catch (AskTimeoutException) { throw new UserInputException($"the node at {contact} did not answer within {timeout.TotalSeconds:0}s"); }
            }
            var status = Ask<StatusReply>(new GetStatus());
            var runs = Ask<RunsReply>(new GetRuns(null));
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
        finally
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(5));
        }
    }

}
