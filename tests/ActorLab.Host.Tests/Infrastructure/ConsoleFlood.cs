using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ActorLab.Actors.Control;
using Akka.Actor;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>
/// Many consoles at once against one node: <see cref="ConsoleClient"/>s in this process (each its own actor system
/// and ClusterClient, exactly what `actorlab console` runs, without 20 .NET process starts on a 2-core machine),
/// asking `status` and `runs` (alternately) without waiting for each other. Every ask ends answered, refused as
/// busy (the gateway's in-flight bound), or otherwise (a timeout, "no coordinator", anything else): counted, with
/// the latency of each answer. Shared by ConsoleFloodTests and the `consoleflood` benchmark.
/// </summary>
public sealed class ConsoleFlood : IDisposable
{
    public sealed record Outcome(int Answered, int Refused, IReadOnlyList<string> Other, IReadOnlyList<double> LatencyMs, TimeSpan Elapsed)
    {
        public int Total => Answered + Refused + Other.Count;
        public double AnsweredPerSecond => Answered / Elapsed.TotalSeconds;
        public double Percentile(double p) => LatencyMs.Count == 0 ? double.NaN : LatencyMs[Math.Min(LatencyMs.Count - 1, (int)(LatencyMs.Count * p))];

        public override string ToString() => FormattableString.Invariant(
            $"{Total} asks in {Elapsed.TotalSeconds:F1}s: {Answered} answered ({AnsweredPerSecond:F0}/s), {Refused} refused as busy, {Other.Count} other; latency p50 {Percentile(0.5):F1} ms, p99 {Percentile(0.99):F1} ms, max {Percentile(1):F1} ms") +
            (Other.Count > 0 ? $"; first other: {Other[0]}" : "");
    }

    readonly List<ConsoleClient> _consoles = [];

    public ConsoleFlood(string contact, int consoles)
    {
        for (var i = 0; i < consoles; i++) _consoles.Add(ConsoleClient.Connect(contact, $"flood-console-{i}"));
    }

    public IReadOnlyList<ConsoleClient> Consoles => _consoles;

    /// <summary>Each console asks `status` then `runs`, all consoles at once: the time each took to both answers.</summary>
    public IReadOnlyList<TimeSpan> StatusAndRunsAtOnce(TimeSpan timeout) =>
        Task.WhenAll(_consoles.Select(c => Task.Run(() =>
        {
            var sw = Stopwatch.StartNew();
            c.Ask<StatusReply>(new GetStatus(), timeout);
            c.Ask<RunsReply>(new GetRuns(null), timeout);
            return sw.Elapsed;
        }))).GetAwaiter().GetResult();

    /// <summary>A burst: <paramref name="perConsole"/> asks from every console, all fired before any answer is awaited.</summary>
    public Outcome Burst(int perConsole, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var asks = new List<Task<(object? Reply, double Ms)>>();
        for (var i = 0; i < perConsole; i++)
            foreach (var c in _consoles) asks.Add(Timed(c, i, timeout));
        var results = Task.WhenAll(asks).GetAwaiter().GetResult();
        return Tally(results, sw.Elapsed);
    }

    /// <summary>
    /// As fast as they can for <paramref name="duration"/>: every console keeps <paramref name="outstanding"/> asks
    /// open, firing the next one as each ends.
    /// </summary>
    public Outcome Sustained(TimeSpan duration, int outstanding, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        var all = new ConcurrentBag<(object? Reply, double Ms)>();
        var loops = _consoles.SelectMany(c => Enumerable.Range(0, outstanding).Select(async lane =>
        {
            var i = lane;
            while (sw.Elapsed < duration)
            {
                all.Add(await Timed(c, i++, timeout).ConfigureAwait(false));
            }
        })).ToList();
        Task.WhenAll(loops).GetAwaiter().GetResult();
        return Tally(all, sw.Elapsed);
    }

    static async Task<(object? Reply, double Ms)> Timed(ConsoleClient c, int i, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        object? reply;
        try { reply = await c.Client.Ask<object>(c.Envelope(i % 2 == 0 ? new GetStatus() : new GetRuns(null)), timeout).ConfigureAwait(false); }
        catch (AskTimeoutException) { reply = null; }
        return (reply, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    static Outcome Tally(IEnumerable<(object? Reply, double Ms)> results, TimeSpan elapsed)
    {
        int answered = 0, refused = 0;
        var other = new List<string>();
        var latency = new List<double>();
        foreach (var (reply, ms) in results)
            switch (reply)
            {
                case StatusReply or RunsReply: answered++; latency.Add(ms); break;
                case ActorLab.Actors.Gateway.Refused r when r.Message.Contains("is busy", StringComparison.Ordinal): refused++; break;
                case null: other.Add(string.Create(CultureInfo.InvariantCulture, $"no answer within {ms:F0} ms")); break;
                default: other.Add($"{reply.GetType().Name}: {reply}"); break;
            }
        latency.Sort();
        return new Outcome(answered, refused, other, latency, elapsed);
    }

    public void Dispose()
    {
        Task.WhenAll(_consoles.Select(c => Task.Run(c.Dispose))).Wait(TimeSpan.FromSeconds(30));
    }
}
