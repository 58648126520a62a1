using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using ActorLab.Actors.Control;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Gateway;
using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;
using ActorLab.Model.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ActorLab.Host.Dashboard;

/// <summary>
/// The dashboard's JSON endpoints, each one gateway command (or a read of the shared storage root) and a clear
/// error for bad input: 400 for a bad parameter, 401 for a token the gateway refuses, 403 for a command the token
/// may not send, 503 when no coordinator answers. Commands (POST) need the `X-ActorLab` header, which a form or a
/// link of another site cannot send without this server agreeing (it never does).
/// </summary>
public static class DashboardApi
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    public const string CommandHeader = "X-ActorLab";

    public sealed record Login(string? Token);

    public sealed record Control(string? Verb, string? Sweep, string? Run);

    public static void Map(WebApplication app, DashboardGateway gateway, DashboardSessions sessions, RunConfigs configs)
    {
        var measured = new MeasuredCapacity();
        OperatorToken? TokenOf(HttpContext c) => sessions.Of(c.Request.Cookies[DashboardSessions.Cookie]);

        app.MapGet("/", () => Asset("index.html", "text/html; charset=utf-8"));
        app.MapGet("/app.js", () => Asset("app.js", "text/javascript; charset=utf-8"));
        app.MapGet("/app.css", () => Asset("app.css", "text/css; charset=utf-8"));

        app.MapGet("/api/session", IResult (HttpContext c) => TokenOf(c) is { } t
            ? Results.Json(new { name = t.Name, role = RoleName(t.Role) }, Json)
            : Results.Json(new { name = (string?)null, role = "none" }, Json));
        app.MapPost("/api/session", async Task<IResult> (HttpContext c) =>
        {
            Login? login;
            try { login = await c.Request.ReadFromJsonAsync<Login>(Json); }
            catch (JsonException) { return Error(400, "the body must be JSON: {\"token\": \"NAME ROLE SECRET\"}"); }
            if (string.IsNullOrWhiteSpace(login?.Token)) return Error(400, "no token: paste the line of the token file (`actorlab token issue` writes it)");
            OperatorToken token;
            try { token = OperatorTokens.ParseLine(login.Token.Trim(), "the token"); }
            catch (UserInputException e) { return Error(400, e.Message); }
            // the gateway judges the token: a wrong secret or an unknown name is refused there, as for a console
            var reply = await gateway.Ask(new GetStatus(), token);
            if (reply is Refused r) return Error(401, r.Message);
            if (reply is NoCoordinator n) return Error(503, n.Message);
            var id = sessions.Open(token);
            c.Response.Cookies.Append(DashboardSessions.Cookie, id, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", Secure = c.Request.IsHttps });
            return Results.Json(new { name = token.Name, role = RoleName(token.Role) }, Json);
        });
        app.MapDelete("/api/session", IResult (HttpContext c) =>
        {
            sessions.Close(c.Request.Cookies[DashboardSessions.Cookie]);
            c.Response.Cookies.Delete(DashboardSessions.Cookie);
            return Results.Json(new { name = (string?)null, role = "none" }, Json);
        });

        app.MapGet("/api/status", async Task<IResult> (HttpContext c) => await Answer<StatusReply>(gateway, new GetStatus(), TokenOf(c), s => StatusJson(s, null)));
        app.MapGet("/api/runs", async Task<IResult> (HttpContext c) =>
        {
            var q = c.Request.Query;
            if (!Int(q["offset"], 0, 0, int.MaxValue, out var offset)) return Error(400, $"offset must be a whole number >= 0, got '{q["offset"]}'");
            if (!Int(q["limit"], 200, 1, 1000, out var limit)) return Error(400, $"limit must be 1..1000, got '{q["limit"]}'");
            var sweep = q["sweep"].ToString() is { Length: > 0 } s ? s : null;
            return await Answer<RunsReply>(gateway, new GetRuns(sweep, offset, limit), TokenOf(c),
                r => new { runs = r.Runs.Select(x => DashboardRun.Of(x, configs.Of(x), null)), total = r.Total, offset = r.Offset });
        });
        app.MapGet("/api/run", async Task<IResult> (HttpContext c) =>
        {
            var id = c.Request.Query["id"].ToString();
            if (id.Length == 0) return Error(400, "id is required: a run id (sweep/run)");
            if (configs.DirOf(id) is not { } dir) return Error(400, $"'{id}' is not a run id (sweep/run)");
            // the coordinator's view first (of this run's sweep only: a run page stays cheap in a 100,000-run cluster);
            // it also proves the token may read
            var (status, runs, error) = await Snapshot(gateway, TokenOf(c), id.Contains('/') ? id[..id.IndexOf('/')] : null);
            if (error != null) return Error(error.StartsWith("refused", StringComparison.Ordinal) ? 401 : 503, error);
            var summary = runs!.FirstOrDefault(r => r.RunId == id);
            if (summary is null) return Error(404, $"unknown run '{id}' (see the runs table)");
            // the measured sweep's plots of this run (generalisation gap, loss curve), once measurement made them
            var results = status!.Sweeps.FirstOrDefault(w => id.StartsWith(w.Name + "/", StringComparison.Ordinal))?.ResultsDir;
            var runPlots = results is null ? [] : RunPlots(results).Where(f => f.StartsWith($"runs/{Path.GetFileName(dir)}_", StringComparison.Ordinal)).ToArray();
            // its history from the coordinator's journal (the newest events); the page adds live ones as they come
            var history = await gateway.Ask(new GetRunEvents(id, RunEventsShown), TokenOf(c));
            return Results.Json(RunDetail(summary, configs.Of(id), dir, runPlots, history), Json);
        });
        app.MapGet("/api/plots", async Task<IResult> (HttpContext c) =>
        {
            var (dir, error) = await SweepDir(gateway, TokenOf(c), c.Request.Query["sweep"].ToString());
            return error ?? Results.Json(new { plots = Plots(dir!) }, Json);
        });
        app.MapGet("/api/plot", async Task<IResult> (HttpContext c) =>
        {
            var (dir, error) = await SweepDir(gateway, TokenOf(c), c.Request.Query["sweep"].ToString());
            if (error != null) return error;
            var file = c.Request.Query["file"].ToString();
            // only a plot the listings name: no path from the browser reaches the file system
            if (!Plots(dir!).Concat(RunPlots(dir!)).Contains(file, StringComparer.Ordinal)) return Error(404, $"no plot '{file}' in this sweep's results");
            return Results.File(File.ReadAllBytes(Path.Combine(dir!, file)), "image/png");
        });
        app.MapGet("/api/events", async (HttpContext c) =>
        {
            var token = TokenOf(c);
            // refuse before streaming, so the browser sees why (an EventSource cannot read an error body)
            var probe = await gateway.Ask(new GetStatus(), token);
            if (probe is Refused r) { await Error(401, r.Message).ExecuteAsync(c); return; }
            await new DashboardFeed(gateway, configs, measured, token).Stream(c.Response, c.RequestAborted);
        });
        app.MapPost("/api/control", async Task<IResult> (HttpContext c) =>
        {
            if (!c.Request.Headers.ContainsKey(CommandHeader)) return Error(400, $"a command needs the {CommandHeader} header (the dashboard page sends it)");
            Control? ctl;
            try { ctl = await c.Request.ReadFromJsonAsync<Control>(Json); }
            catch (JsonException) { return Error(400, "the body must be JSON: {\"verb\": \"pause\", \"sweep\": \"NAME\"}"); }
            object? command = ctl?.Verb switch
            {
                "pause" => new PauseSweep(ctl.Sweep),
                "resume" => ctl.Run != null ? new ResumeRun(ctl.Run) : new ResumeSweep(ctl.Sweep),
                "stop" => new StopSweep(ctl.Sweep),
                "cancel" => new CancelSweep(ctl.Sweep),
                "suspend" when ctl.Run != null => new SuspendRun(ctl.Run),
                _ => null,
            };
            if (command is null) return Error(400, $"unknown command '{ctl?.Verb}': pause, resume, stop or cancel a sweep; suspend or resume a run");
            return await Answer<CommandReply>(gateway, command, TokenOf(c), r => r, r => r.Ok ? 200 : 409);
        });
    }

    /// <summary>The status and every run (of one sweep, if named; pages of 1000), or why not.</summary>
    public static async Task<(StatusReply? Status, List<RunSummary>? Runs, string? Error)> Snapshot(DashboardGateway gateway, OperatorToken? token,
        string? sweep = null)
    {
        var first = await gateway.Ask(new GetStatus(), token);
        if (first is not StatusReply status) return (null, null, Why(first));
        var (runs, _, error) = await Changed(gateway, token, sweep, null);
        return error != null ? (null, null, error) : (status, runs, null);
    }

    /// <summary>
    /// The runs (of one sweep, if named) whose rows changed after <paramref name="after"/> (null: every run), a page of
    /// 1000 at a time, and the first page's change count and coordinator (what to ask after next time), or why not.
    /// </summary>
    public static async Task<(List<RunSummary>? Runs, RunsReply? First, string? Error)> Changed(DashboardGateway gateway, OperatorToken? token,
        string? sweep, long? after)
    {
        var runs = new List<RunSummary>();
        RunsReply? first = null;
        while (true)
        {
            var reply = await gateway.Ask(new GetRuns(sweep, runs.Count, 1000, after), token);
            if (reply is not RunsReply page) return (null, null, Why(reply));
            first ??= page;
            runs.AddRange(page.Runs);
            if (page.Runs.Length == 0 || runs.Count >= page.Total) return (runs, first, null);
        }
    }

    internal static string Why(object reply) => reply switch
    {
        Refused r => r.Message,
        NoCoordinator n => n.Message,
        _ => $"unexpected answer {reply.GetType().Name}",
    };

    public static object StatusJson(StatusReply s, IReadOnlyDictionary<string, double?>? etas) => new
    {
        sweeps = s.Sweeps.Select(x => new
        {
            x.Name, x.State, x.Runs, x.Queued, x.Running, x.Suspended, x.Completed, x.Failed, x.Cancelled,
            eta_seconds = etas?.GetValueOrDefault(x.Name), results_dir = x.ResultsDir, results_error = x.ResultsError,
        }),
        nodes = s.Nodes,
        coordinator = s.CoordinatorAddress,
        queued_jobs = s.QueuedJobs,
        running_jobs = s.RunningJobs,
    };

    /// <summary>How many of a run's journalled events its page shows (the newest).</summary>
    public const int RunEventsShown = 200;

    static object RunDetail(RunSummary summary, RunRow? config, string dir, string[] runPlots, object historyReply)
    {
        var history = historyReply as RunEventsReply;
        var train = Directory.Exists(dir) ? RunTable.TrainLossSeries(dir) : [];
        var eval = Directory.Exists(dir) && config != null ? RunTable.EvalSeries(dir, config.Relations) : new Dictionary<EvalMode, IReadOnlyList<(long, double)>>();
        var checkpoints = Directory.Exists(dir) ? Checkpoints.ListWithEpochs(dir).Select(c => new { step = c.Step, epoch = c.Epoch }).ToArray() : [];
        return new
        {
            run = DashboardRun.Of(summary, config, null),
            config = config is null ? null : new
            {
                n_profiles = config.NProfiles, config.Relations, n_params = config.NParams, config.Layers, hops = config.TrainedHops,
                config.Optimizer, lr = config.Lr, weight_decay = config.WeightDecay, batch_size = config.BatchSize, seq_len = config.SeqLen,
                config.Seed, max_steps = config.MaxSteps,
            },
            train = train.Select(p => new[] { p.Step, p.Loss }),
            eval = eval.ToDictionary(kv => kv.Key.Name(), kv => kv.Value.Select(p => new[] { p.Item1, p.Item2 })),
            checkpoints,
            events = history?.Events.Select(e => new { at = e.At, kind = e.Kind, id = summary.RunId, step = e.Step, text = e.Text }),
            events_total = history?.Total,
            events_error = history is null ? Why(historyReply) : null,
            run_plots = runPlots,
        };
    }

    static async Task<(string? Dir, IResult? Error)> SweepDir(DashboardGateway gateway, OperatorToken? token, string sweep)
    {
        if (sweep.Length == 0) return (null, Error(400, "sweep is required"));
        var reply = await gateway.Ask(new GetStatus(), token);
        if (reply is not StatusReply s) return (null, Error(reply is Refused ? 401 : 503, Why(reply)));
        var x = s.Sweeps.FirstOrDefault(w => w.Name == sweep);
        if (x is null) return (null, Error(404, $"unknown sweep '{sweep}'"));
        // no results folder yet (nothing measured): no plots
        return x.ResultsDir is { } d && Directory.Exists(d) ? (d, null) : (null, Results.Json(new { plots = Array.Empty<string>() }, Json));
    }

    /// <summary>The sweep's capacity plots (PNG files of its results folder), by name.</summary>
    static string[] Plots(string dir) => [.. Directory.GetFiles(dir, "*.png").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    /// <summary>The per-run plots of a measured sweep (runs/RUN_generalisation_gap.png, runs/RUN_loss_curve.png), as "runs/NAME".</summary>
    static string[] RunPlots(string dir) => Directory.Exists(Path.Combine(dir, "runs"))
        ? [.. Directory.GetFiles(Path.Combine(dir, "runs"), "*.png").Select(f => "runs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal)]
        : [];

    static async Task<IResult> Answer<T>(DashboardGateway gateway, object command, OperatorToken? token, Func<T, object> json, Func<T, int>? code = null)
    {
        var reply = await gateway.Ask(command, token);
        return reply switch
        {
            T ok => Results.Json(json(ok), Json, statusCode: code?.Invoke(ok) ?? 200),
            Refused r when r.Message.Contains("read-only", StringComparison.Ordinal) => Error(403, r.Message),
            Refused r when r.Message.Contains(" is busy", StringComparison.Ordinal) => Error(503, r.Message), // the gateway's in-flight bound
            Refused r => Error(401, r.Message),
            NoCoordinator n => Error(503, n.Message),
            _ => Error(502, $"unexpected answer {reply.GetType().Name}"),
        };
    }

    static IResult Error(int code, string message) => Results.Json(new { error = message }, Json, statusCode: code);

    static bool Int(Microsoft.Extensions.Primitives.StringValues v, int fallback, int min, int max, out int value)
    {
        value = fallback;
        if (v.Count == 0 || v.ToString().Length == 0) return true;
        return int.TryParse(v.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
    }

    static string RoleName(OperatorRole r) => r == OperatorRole.Operator ? "operator" : "read-only";

    static IResult Asset(string name, string type)
    {
        using var s = typeof(DashboardApi).Assembly.GetManifestResourceStream("dashboard/" + name)
            ?? throw new InvalidOperationException($"the dashboard asset {name} is not embedded in the assembly");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return Results.Bytes(m.ToArray(), type);
    }
}
