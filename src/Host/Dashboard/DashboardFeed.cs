using System.Collections.Immutable;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using ActorLab.Actors.Control;
using ActorLab.Actors.Gateway;
using ActorLab.Host.Cli;
using Microsoft.AspNetCore.Http;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// One browser's server-sent events: every run notice of the console's watch at once (`progress`: a run's step and
/// loss; `notice`: a run event), and after each run event (at the latest every <see cref="Refresh"/>) the sweeps
/// (`status`) and the runs whose row changed (`runs`), never the whole page again, asking the coordinator only for the
/// runs that changed since the last refresh. Steps/s and ETAs come from
/// <see cref="SweepPanelState"/>, the terminal panel's own arithmetic.
/// </summary>
public sealed class DashboardFeed(DashboardGateway gateway, RunConfigs configs, MeasuredCapacity measured, OperatorToken? token)
{
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(2);
    static readonly TimeSpan AfterEvent = TimeSpan.FromMilliseconds(200);
    const int MaxQueuedNotices = 10_000;
    static long _next;

    readonly Dictionary<string, SweepPanelState> _panels = new(StringComparer.Ordinal);
    readonly Dictionary<string, DashboardRun> _rows = new(StringComparer.Ordinal);
    readonly Dictionary<string, KnownSweep> _sweeps = new(StringComparer.Ordinal);

    /// <summary>
    /// A sweep's runs as this page last heard them, the coordinator's change count they are up to, the runs that came
    /// since the rows were last worked out, their step caps, and the measured capacities the rows were made with.
    /// </summary>
    sealed class KnownSweep(StringComparer ids)
    {
        public SweepSummary? Summary;
        public long Changes;
        public string Incarnation = "";
        public readonly Dictionary<string, RunSummary> Runs = new(ids);
        public readonly Dictionary<string, long> Caps = new(ids);
        public string[] Fresh = [];
        public IReadOnlyDictionary<string, (double Capacity, double BitsPerParam)> Capacities = new Dictionary<string, (double, double)>();
    }

    public async Task Stream(HttpResponse response, CancellationToken cancel)
    {
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        // bounded: a browser that stops reading holds at most this many notices, the oldest dropped (a later
        // progress notice and the 2-second refresh of its rows supersede them)
        var notices = Channel.CreateBounded<object>(new BoundedChannelOptions(MaxQueuedNotices) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
        var watch = gateway.System.ActorOf(DashboardWatch.Props(token, notices.Writer), $"{ConsoleGateway.DashboardPrefix}watch-{Interlocked.Increment(ref _next)}");
        try
        {
            await Send(response, "hello", new { refresh_seconds = Refresh.TotalSeconds }, cancel);
            var due = DateTime.UtcNow;
            while (!cancel.IsCancellationRequested)
            {
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                    timer.CancelAfter(wait);
                    try { await notices.Reader.WaitToReadAsync(timer.Token); }
                    catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { }
                }
                while (notices.Reader.TryRead(out var m))
                {
                    switch (m)
                    {
                        case WatchNotice { Kind: "progress" } p:
                            await Send(response, "progress", new { id = p.RunId, step = p.Step, loss = p.Loss, at = p.At }, cancel);
                            break;
                        case WatchNotice n:
                            await Send(response, "notice", new { kind = n.Kind, id = n.RunId, step = n.Step, text = n.Text, at = n.At }, cancel);
                            var soon = DateTime.UtcNow + AfterEvent;
                            if (soon < due) due = soon;
                            break;
                        case Refused r:
                            await Send(response, "refused", new { message = r.Message }, cancel);
                            break;
                    }
                }
                if (DateTime.UtcNow < due) continue;
                await RefreshRows(response, cancel);
                due = DateTime.UtcNow + Refresh;
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { }
        catch (IOException) { } // the browser went away mid-write
        finally
        {
            gateway.System.Stop(watch);
        }
    }

    async Task RefreshRows(HttpResponse response, CancellationToken cancel)
    {
        var reply = await gateway.Ask(new GetStatus(), token);
        if (reply is not StatusReply status)
        {
            await Send(response, "unavailable", new { message = DashboardApi.Why(reply) }, cancel);
            return;
        }
        foreach (var sweep in status.Sweeps)
            if (await Update(sweep) is { } error)
            {
                await Send(response, "unavailable", new { message = error }, cancel);
                return;
            }
        var names = status.Sweeps.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        var removed = new List<string>();
        foreach (var gone in _sweeps.Keys.Where(k => !names.Contains(k)).ToList())
        {
            removed.AddRange(_sweeps[gone].Runs.Keys);
            _sweeps.Remove(gone);
            _panels.Remove(gone);
        }
        foreach (var k in removed) _rows.Remove(k);
        var now = DateTime.UtcNow;
        var etas = new Dictionary<string, double?>(StringComparer.Ordinal);
        var changed = new List<DashboardRun>();
        foreach (var sweep in status.Sweeps)
        {
            var known = _sweeps[sweep.Name];
            var panel = _panels.TryGetValue(sweep.Name, out var p) ? p : SweepPanelState.Start(sweep.Name, sweep.Runs);
            panel = _panels[sweep.Name] = panel.Observe(now, sweep, known.Runs.Values, known.Caps);
            etas[sweep.Name] = panel.SweepEta?.TotalSeconds;
            var paces = panel.Runs.ToDictionary(r => sweep.Name + "/" + r.Run, StringComparer.Ordinal);
            // a row is worked out again only where it can have changed: its run's summary came anew, it is running
            // (its pace and ETA move), or the sweep's measured capacity changed (then every row of the sweep)
            var capacities = measured.Of(sweep);
            var remeasured = !ReferenceEquals(capacities, known.Capacities) && (capacities.Count > 0 || known.Capacities.Count > 0);
            known.Capacities = capacities;
            IEnumerable<string> dirty = remeasured ? known.Runs.Keys : known.Fresh.Concat(paces.Keys).Distinct(StringComparer.Ordinal);
            foreach (var id in dirty)
            {
                var r = known.Runs[id];
                var row = DashboardRun.Of(r, configs.Of(r), paces.GetValueOrDefault(id), capacities.TryGetValue(id[(sweep.Name.Length + 1)..], out var c) ? c : null);
                if (_rows.TryGetValue(id, out var old) && old == row) continue;
                _rows[id] = row;
                changed.Add(row);
            }
            known.Fresh = [];
        }
        await Send(response, "status", DashboardApi.StatusJson(status, etas), cancel);
        if (changed.Count > 0 || removed.Count > 0) await Send(response, "runs", new { changed, removed }, cancel);
    }

    /// <summary>
    /// Brings this page's runs of <paramref name="sweep"/> up to date, or says why not. Only what changed crosses the
    /// cluster: a sweep's runs are asked for whole once, then only those whose rows changed since (the coordinator
    /// counts changes; another coordinator counts afresh, so then everything again), and a finished sweep's not at all
    /// while its summary stays the same. The runs that came are the ones whose rows are worked out again.
    /// </summary>
    async Task<string?> Update(SweepSummary sweep)
    {
        var known = _sweeps.GetValueOrDefault(sweep.Name);
        if (known != null && known.Summary == sweep && sweep.State is "finished" or "failed") return null;
        var (fresh, first, error) = await DashboardApi.Changed(gateway, token, sweep.Name, known?.Changes);
        if (error == null && known != null && first!.Incarnation != known.Incarnation)
        {
            known = null;
            (fresh, first, error) = await DashboardApi.Changed(gateway, token, sweep.Name, null);
        }
        if (error != null) return error;
        known ??= new KnownSweep(StringComparer.Ordinal);
        foreach (var r in fresh!)
        {
            known.Runs[r.RunId] = r;
            // the step cap of a run is in its run.json, known once it holds a lease: looked up only when its summary changes
            if (configs.Of(r)?.MaxSteps is { } cap) known.Caps[r.RunId] = cap;
        }
        // added to, not replaced: if a later sweep's update fails, this refresh works out no rows, and the next must
        // still redo these (the change count they came under is already past)
        known.Fresh = [.. known.Fresh, .. fresh.Select(r => r.RunId)];
        (known.Summary, known.Changes, known.Incarnation) = (sweep, first!.Changes, first.Incarnation);
        _sweeps[sweep.Name] = known;
        return null;
    }

    static async Task Send(HttpResponse response, string kind, object data, CancellationToken cancel)
    {
        await response.WriteAsync($"event: {kind}\ndata: {JsonSerializer.Serialize(data, DashboardApi.Json)}\n\n", cancel);
        await response.Body.FlushAsync(cancel);
    }
}
