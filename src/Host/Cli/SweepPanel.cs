using System.Collections.Immutable;
using System.Globalization;
using ActorLab.Actors.Control;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ActorLab.Host.Cli;

/// <summary>One running run as the panel shows it: where, how far, how fast, and when it ends at this pace.</summary>
public sealed record PanelRun(string Run, string Node, long Step, long MaxSteps, double? StepsPerSecond, double? Loss)
{
    /// <summary>Time to the step cap at the measured pace (an upper bound: convergence may stop the run sooner).</summary>
    public TimeSpan? Eta => StepsPerSecond is > 0 ? TimeSpan.FromSeconds(Math.Max(0, MaxSteps - Step) / StepsPerSecond.Value) : null;
}

/// <summary>
/// The live sweep panel's state: counts of runs by state, the running runs with their pace, and the sweep's ETA.
/// Pure: each <see cref="Observe"/> of a status and a page of runs gives the next state (steps/s come from the step
/// one observation to the next); rendering is separate, so the numbers are tested without a terminal.
/// </summary>
public sealed record SweepPanelState(
    string Sweep, int Total, int Completed, int Running, int Queued, int Failed, int Cancelled,
    ImmutableArray<PanelRun> Runs, TimeSpan? SweepEta, DateTime At,
    ImmutableDictionary<string, (long Step, DateTime At)> Seen)
{
    public static SweepPanelState Start(string sweep, int total) =>
        new(sweep, total, 0, 0, total, 0, 0, [], null, DateTime.MinValue, ImmutableDictionary<string, (long, DateTime)>.Empty);

    /// <param name="maxSteps">Step cap of each run of the sweep (from its plan).</param>
    public SweepPanelState Observe(DateTime now, SweepSummary sweep, IEnumerable<RunSummary> runs, IReadOnlyDictionary<string, long> maxSteps)
    {
        var seen = ImmutableDictionary.CreateBuilder<string, (long, DateTime)>();
        var rows = new List<PanelRun>();
        long remaining = 0;
        foreach (var r in runs)
        {
            var cap = maxSteps.TryGetValue(r.RunId, out var m) ? m : r.Step;
            if (r.State is "completed" or "failed" or "cancelled") continue;
            remaining += Math.Max(0, cap - r.Step);
            if (r.State != "running") continue;
            // steps/s from the step one poll to the next, smoothed; a poll that sees no new step keeps the pace
            var old = Runs.FirstOrDefault(x => x.Run == Short(r.RunId))?.StepsPerSecond;
            double? pace = null;
            var mark = (r.Step, now);
            if (Seen.TryGetValue(r.RunId, out var before) && r.Step >= before.Step)
            {
                if (r.Step > before.Step && now > before.At)
                {
                    var fresh = (r.Step - before.Step) / (now - before.At).TotalSeconds;
                    pace = old is { } o ? 0.5 * o + 0.5 * fresh : fresh;
                }
                else (pace, mark) = (old, before);
            }
            seen[r.RunId] = mark;
            rows.Add(new PanelRun(Short(r.RunId), (r.Node ?? "").Split('#')[0], r.Step, cap, pace, r.Loss)); // host:port, not the incarnation uid
        }
        // the sweep's ETA: every step still to train, at the pace all running runs make together
        var total = rows.Sum(x => x.StepsPerSecond ?? 0);
        TimeSpan? eta = total > 0 ? TimeSpan.FromSeconds(remaining / total) : null;
        return this with
        {
            Total = sweep.Runs, Completed = sweep.Completed, Running = sweep.Running, Queued = sweep.Queued + sweep.Suspended,
            Failed = sweep.Failed, Cancelled = sweep.Cancelled, Runs = [.. rows.OrderBy(x => x.Node, StringComparer.Ordinal).ThenBy(x => x.Run, StringComparer.Ordinal)],
            SweepEta = eta, At = now, Seen = seen.ToImmutable(),
        };
    }

    string Short(string runId) => runId.StartsWith(Sweep + "/", StringComparison.Ordinal) ? runId[(Sweep.Length + 1)..] : runId;

    /// <summary>The headline: "sweep quickstart: 5/12 done, 2 running, 5 queued, 0 failed; ETA 3m 10s".</summary>
    public string Headline()
    {
        var cancelled = Cancelled > 0 ? $", {Cancelled} cancelled" : "";
        return $"sweep {Sweep}: {Completed}/{Total} done, {Running} running, {Queued} queued, {Failed} failed{cancelled}; ETA {Duration(SweepEta)}";
    }

    public IRenderable Render()
    {
        var done = Total == 0 ? 0 : (double)(Completed + Failed + Cancelled) / Total;
        var bar = new BreakdownChart().Width(60).HideTagValues()
            .AddItem("done", Completed, Color.Green).AddItem("failed", Failed, Color.Red)
            .AddItem("running", Running, Color.Yellow).AddItem("queued", Math.Max(0, Total - Completed - Failed - Running - Cancelled), Color.Grey);
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("run", "node", "step", "steps/s", "loss (nats/token)", "ETA");
        foreach (var r in Runs)
            table.AddRow(Markup.Escape(r.Run), Markup.Escape(r.Node), $"{r.Step:N0} / {r.MaxSteps:N0}",
                r.StepsPerSecond is { } s ? s.ToString("F1", CultureInfo.InvariantCulture) : "-",
                r.Loss is { } l ? l.ToString("F4", CultureInfo.InvariantCulture) : "-", Duration(r.Eta));
        return new Rows(new Markup(string.Create(CultureInfo.InvariantCulture, $"[bold]{Markup.Escape(Headline())}[/] ({done * 100:F0} %)")), bar, table);
    }

    public static string Duration(TimeSpan? t) => t is not { } d ? "-"
        : d.TotalHours >= 1 ? $"{(int)d.TotalHours}h {d.Minutes:00}m"
        : d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes}m {d.Seconds:00}s"
        : $"{Math.Ceiling(d.TotalSeconds):0}s";
}
