using System.Diagnostics;
using System.Text;
using ActorLab.Host.Tests.Actors;
using Microsoft.Data.Sqlite;

namespace ActorLab.Host.Tests.Robustness;

/// <summary>Where a damaged state starts from: a sweep killed with SIGKILL mid-run, or one that finished.</summary>
public enum DamageStart { Interrupted, Finished }

/// <summary>
/// One kind of damage done to a sweep's data dir between two `sweep run`s. <see cref="Repair"/>: the command the
/// refusal tells the user to run (arguments after `actorlab`, `{data}` for the data dir), run before trying again.
/// <see cref="Check"/>: what must also hold afterwards besides the results (null: nothing), as a problem or null.
/// </summary>
public sealed record Damage(string Area, string Name, DamageStart Start, Action<DamageSite> Apply,
    string[]? Repair = null, Func<DamageSite, string?>? Check = null);

/// <summary>The data dir being damaged, and the files in it a damage names.</summary>
public sealed class DamageSite(string dataDir, string sweepFile)
{
    public string DataDir { get; } = dataDir;
    public string SweepFile { get; } = sweepFile;
    public string Journal => Path.Combine(DataDir, "journal.db");
    public string[] RunDirs => Directory.GetDirectories(Path.Combine(DataDir, "runs", DamagedStates.SweepName)).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The run the kill interrupted: its newest checkpoint is short of the last step.</summary>
    public string InterruptedRun => RunDirs.Single(d => Step(LatestCheckpoint(d)) < DamagedStates.MaxSteps);
    public string CompletedRun => RunDirs.First(d => Step(LatestCheckpoint(d)) == DamagedStates.MaxSteps);

    /// <summary>The newest checkpoint folder of a run (by step).</summary>
    public static string LatestCheckpoint(string run) => Directory.GetDirectories(Path.Combine(run, "checkpoints"), "step_*").OrderBy(Step).Last();

    static long Step(string checkpoint) => long.Parse(Path.GetFileName(checkpoint)["step_".Length..].Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);

    public string ProfilesFile => Directory.GetFiles(Path.Combine(DataDir, "datasets"), "*.parquet", SearchOption.AllDirectories).Single();
    public string TokenizerDir => Directory.GetDirectories(Path.Combine(DataDir, "tokenizers")).Single();

    public void Sql(string sql)
    {
        using var c = new SqliteConnection($"Data Source={Journal};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Overwrites <paramref name="count"/> bytes in the middle of a file (the same bytes every time).</summary>
    public static void Flip(string file, int count = 64)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        f.Position = Math.Max(0, f.Length / 2 - count / 2);
        var bytes = new byte[Math.Min(count, (int)f.Length)];
        f.ReadExactly(bytes);
        for (var i = 0; i < bytes.Length; i++) bytes[i] ^= 0x5A;
        f.Position = Math.Max(0, f.Length / 2 - count / 2);
        f.Write(bytes);
    }

    public static void Truncate(string file, double keep = 0.5)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        f.SetLength((long)(f.Length * keep));
    }
}

/// <summary>
/// The damaged-state catalogue (issue 15's third table): each kind of damage a data dir suffers between restarts
/// (journal, owner files, interrupted writes, checkpoints, cached datasets, run outputs, a changed sweep file),
/// applied to a copy of a real sweep's state; <see cref="DamagedStateRunner"/> runs `sweep run` on it again and
/// says whether the sweep recovered with the undamaged results, or was refused with a message.
/// </summary>
public static class DamagedStates
{
    public const string SweepName = "damage";
    public const long MaxSteps = 200;

    // two tiny runs, checkpoints every 20 steps (the kill lands in the second run), evals at 100 and 200
    public const string Sweep = """
        sweep {
          name = damage
          grid { layers = [1], param-budgets = [340000, 380000], relations = [2], n-profiles = [60], orders = [[1]] }
          vocab-size = 400
          batch-size = 8
          seq-len = 64
          max-steps = 200
          convergence.enabled = false
          eval { steps = [100, 200], questions = 40 }
          checkpoint.every = 20
        }
        """;

    static readonly string[] DbRepair = ["db", "repair", "--data-dir", "{data}"];

    static string? Gone(DamageSite s, string pattern) =>
        Directory.GetFiles(s.DataDir, pattern, SearchOption.AllDirectories) is { Length: > 0 } left ? $"left behind: {string.Join(", ", left.Select(Path.GetFileName))}" : null;

    // a fresh journal counts lease epochs from 1 again: the run folders' old files must not make an attempt fail
    static string? NoFailedAttempt(DamageSite s) =>
        File.ReadLines(Path.Combine(s.DataDir, "logs", $"sweep-{SweepName}.log")).FirstOrDefault(l => l.Contains("event=run-attempt-failed", StringComparison.Ordinal)) is { } l
            ? "a run attempt failed: " + l[l.IndexOf("error=", StringComparison.Ordinal)..]
            : null;

    public static readonly Damage[] All =
    [
        new("control", "no damage (a kill -9 mid-run only)", DamageStart.Interrupted, _ => { }),
        new("control", "no damage (finished sweep run again)", DamageStart.Finished, _ => { }),

        new("journal", "journal.db truncated to half", DamageStart.Interrupted, s => DamageSite.Truncate(s.Journal), DbRepair, Check: NoFailedAttempt),
        // the tail cut off (a full disk, a partial copy): the salvage keeps rows a plain scan still reads
        new("journal", "journal.db cut to 90 %", DamageStart.Interrupted, s => DamageSite.Truncate(s.Journal, 0.9), DbRepair, Check: NoFailedAttempt),
        new("journal", "64 bytes flipped in journal.db", DamageStart.Interrupted, s => DamageSite.Flip(s.Journal), DbRepair),
        new("journal", "one event's payload is garbage", DamageStart.Interrupted,
            s => s.Sql("UPDATE event_journal SET payload = randomblob(80) WHERE ordering = (SELECT max(ordering) / 2 FROM event_journal)"), DbRepair),
        new("journal", "one event has an unknown manifest", DamageStart.Interrupted,
            s => s.Sql("UPDATE event_journal SET manifest = 'no-such-event@9' WHERE ordering = (SELECT max(ordering) / 2 FROM event_journal)"), DbRepair),
        new("journal", "a run-leased event deleted (a gap)", DamageStart.Interrupted,
            s => s.Sql("DELETE FROM event_journal WHERE ordering = (SELECT min(ordering) FROM event_journal WHERE manifest LIKE 'run-leased@%')"), DbRepair),
        new("journal", "a garbage snapshot, newest", DamageStart.Interrupted,
            s => s.Sql("INSERT INTO snapshot (persistence_id, sequence_nr, created_at, payload, manifest, serializer_id) " +
                       "SELECT persistence_id, max(sequence_nr), 0, randomblob(500), 'sweep-state@2', serializer_id FROM event_journal GROUP BY persistence_id"), DbRepair),
        new("journal", "journal.db emptied (0 bytes)", DamageStart.Interrupted, s => File.WriteAllBytes(s.Journal, []), DbRepair, Check: NoFailedAttempt),
        new("journal", "journal.db deleted (runs' folders kept)", DamageStart.Interrupted, s => File.Delete(s.Journal), Check: NoFailedAttempt),
        new("journal", "a garbage journal.db-wal beside it", DamageStart.Interrupted,
            s => File.WriteAllBytes(s.Journal + "-wal", Enumerable.Range(0, 8192).Select(i => (byte)(i * 31)).ToArray())),

        new("data dir", "owner.json is garbage", DamageStart.Interrupted, s => File.WriteAllBytes(Path.Combine(s.DataDir, "owner.json"), [0xFF, 0x00, 0x7B, 0x22])),
        new("data dir", "owner.lock and owner.json deleted", DamageStart.Interrupted, s =>
        {
            File.Delete(Path.Combine(s.DataDir, "owner.lock"));
            File.Delete(Path.Combine(s.DataDir, "owner.json"));
        }),
        new("data dir", "temp files of a killed writer (dead pid)", DamageStart.Interrupted, s =>
        {
            File.WriteAllText(Path.Combine(s.InterruptedRun, ".progress.e9.csv.999999.0123456789abcdef0123456789abcdef.tmp"), "half a row");
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(s.ProfilesFile)!, ".p.parquet.999999.0123456789abcdef0123456789abcdef.tmp"), "PAR1");
        }, Check: s => Gone(s, "*.999999.*.tmp")),

        new("checkpoint", "newest checkpoint: weights bytes flipped", DamageStart.Interrupted,
            s => DamageSite.Flip(Path.Combine(DamageSite.LatestCheckpoint(s.InterruptedRun), "model.safetensors"))),
        new("checkpoint", "newest checkpoint: weights truncated", DamageStart.Interrupted,
            s => DamageSite.Truncate(Path.Combine(DamageSite.LatestCheckpoint(s.InterruptedRun), "model.safetensors"))),
        new("checkpoint", "newest checkpoint: optimiser state deleted", DamageStart.Interrupted,
            s => File.Delete(Path.Combine(DamageSite.LatestCheckpoint(s.InterruptedRun), "optimizer.safetensors"))),
        new("checkpoint", "newest checkpoint: manifest deleted", DamageStart.Interrupted,
            s => File.Delete(Path.Combine(DamageSite.LatestCheckpoint(s.InterruptedRun), "manifest.json"))),
        new("checkpoint", "newest checkpoint folder deleted", DamageStart.Interrupted,
            s => Directory.Delete(DamageSite.LatestCheckpoint(s.InterruptedRun), true)),
        new("checkpoint", "every checkpoint of the run deleted", DamageStart.Interrupted,
            s => Directory.Delete(Path.Combine(s.InterruptedRun, "checkpoints"), true)),
        new("checkpoint", "newest checkpoint replaced by another run's (self-consistent)", DamageStart.Interrupted, s =>
        {
            var target = DamageSite.LatestCheckpoint(s.InterruptedRun);
            var foreign = DamageSite.LatestCheckpoint(s.CompletedRun);
            Directory.Delete(target, true);
            Directory.CreateDirectory(target);
            foreach (var f in Directory.GetFiles(foreign)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        }),

        new("dataset", "cached profiles file deleted", DamageStart.Interrupted, s => File.Delete(s.ProfilesFile)),
        new("dataset", "cached profiles file: bytes flipped", DamageStart.Interrupted, s => DamageSite.Flip(s.ProfilesFile, 256)),
        new("dataset", "cached tokenizer deleted", DamageStart.Interrupted, s => Directory.Delete(s.TokenizerDir, true)),
        new("dataset", "cached tokenizer.json is garbage", DamageStart.Interrupted, s => File.WriteAllText(Path.Combine(s.TokenizerDir, "tokenizer.json"), "{\"model\": 7")),

        new("run output", "progress file cut mid-row", DamageStart.Interrupted,
            s => DamageSite.Truncate(Directory.GetFiles(s.InterruptedRun, "progress*.csv").Single(), 0.7)),
        new("run output", "run.json is garbage", DamageStart.Interrupted, s => File.WriteAllText(Path.Combine(s.InterruptedRun, "run.json"), "{ not json")),
        new("run output", "a completed run's published eval_results.csv deleted", DamageStart.Finished,
            s => File.Delete(Path.Combine(s.CompletedRun, "eval_results.csv"))),
        new("run output", "a completed run's eval results edited", DamageStart.Finished, s =>
        {
            // a loss of 64.2 becomes 164.2 in the published file and the epoch's own
            foreach (var f in Directory.GetFiles(s.CompletedRun, "eval_results*.csv"))
                File.WriteAllLines(f, File.ReadAllLines(f).Select((l, i) => i == 1 ? "1" + l : l));
            foreach (var f in Directory.GetFiles(Path.Combine(s.DataDir, "sweeps", SweepName), "capacity_*.csv")) File.Delete(f);
        }),
        new("run output", "the sweep's results folder deleted", DamageStart.Finished, s => Directory.Delete(Path.Combine(s.DataDir, "sweeps", SweepName), true)),

        new("sweep file", "batch size changed before the rerun", DamageStart.Interrupted,
            s => File.WriteAllText(s.SweepFile, File.ReadAllText(s.SweepFile).Replace("batch-size = 8", "batch-size = 16"))),
    ];
}

/// <summary>What one `sweep run` on a damaged state came to.</summary>
public enum DamageOutcome { Recovered, Refused, FailedWithoutMessage, StackTrace, Hang, WrongResult }

public sealed record DamageResult(Damage Damage, DamageOutcome Outcome, string Line, double Seconds, DamageOutcome? AfterRepair, string? RepairLine);

/// <summary>
/// Runs the catalogue: one undamaged sweep to the end (the expected results), one killed mid-run (the interrupted
/// state), then per damage a copy of the right state, the damage, and `sweep run` again (plus the repair the
/// refusal names, and `sweep run` once more).
/// </summary>
public sealed class DamagedStateRunner : IDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    readonly string _root;
    readonly string _finished;
    readonly string _interrupted;
    readonly Dictionary<string, string> _expected;

    public DamagedStateRunner()
    {
        _root = Path.Combine(Path.GetTempPath(), "actorlab-damage-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
        _finished = Path.Combine(_root, "finished");
        _interrupted = Path.Combine(_root, "interrupted");
        Directory.CreateDirectory(_finished);
        Directory.CreateDirectory(_interrupted);
        File.WriteAllText(Path.Combine(_finished, "sweep.conf"), DamagedStates.Sweep);
        File.WriteAllText(Path.Combine(_interrupted, "sweep.conf"), DamagedStates.Sweep);

        var (code, output) = ActorLabProcess.Run(Limit, Args(_finished));
        if (code != 0) throw new InvalidOperationException("the undamaged sweep failed:\n" + output);
        _expected = Results(Path.Combine(_finished, "data"));

        // killed in the second run: after the first completed and the second recorded a few checkpoints
        using (var p = new ActorLabProcess(Args(_interrupted)))
        {
            p.WaitForLine(_ => p.Lines.Count(l => l.Contains("checkpoint-recorded", StringComparison.Ordinal)) >= 14, Limit);
            p.Kill9();
        }
        var site = new DamageSite(Path.Combine(_interrupted, "data"), Path.Combine(_interrupted, "sweep.conf"));
        _ = site.InterruptedRun; // exactly one run was cut off
    }

    static string[] Args(string dir) => ["sweep", "run", Path.Combine(dir, "sweep.conf"), "--data-dir", Path.Combine(dir, "data"), "--slots", "1"];

    /// <summary>What a sweep's results are: every run's published eval results and the final capacity table (rows sorted).</summary>
    static Dictionary<string, string> Results(string data)
    {
        var r = new Dictionary<string, string>();
        foreach (var run in Directory.GetDirectories(Path.Combine(data, "runs", DamagedStates.SweepName)))
        {
            var f = Path.Combine(run, "eval_results.csv");
            r["runs/" + Path.GetFileName(run)] = File.Exists(f) ? File.ReadAllText(f) : "(missing)";
        }
        var sweep = Path.Combine(data, "sweeps", DamagedStates.SweepName);
        foreach (var f in Directory.Exists(sweep) ? Directory.GetFiles(sweep, "capacity_final_*.csv") : [])
            r[Path.GetFileName(f)] = string.Join("\n", File.ReadAllLines(f).Order(StringComparer.Ordinal));
        if (!r.Keys.Any(k => k.StartsWith("capacity_final_", StringComparison.Ordinal))) r["capacity_final"] = "(missing)";
        return r;
    }

    public DamageResult Run(Damage damage)
    {
        var dir = Path.Combine(_root, "case-" + Guid.NewGuid().ToString("N")[..8]);
        Copy(damage.Start == DamageStart.Finished ? _finished : _interrupted, dir);
        var site = new DamageSite(Path.Combine(dir, "data"), Path.Combine(dir, "sweep.conf"));
        damage.Apply(site);
        var sw = Stopwatch.StartNew();
        var (outcome, line) = Attempt(site, damage);
        var seconds = sw.Elapsed.TotalSeconds;
        DamageOutcome? after = null;
        string? repairLine = null;
        if (outcome == DamageOutcome.Refused && damage.Repair is { } repair)
        {
            var (code, output) = ActorLabProcess.Run(Limit, repair.Select(a => a.Replace("{data}", site.DataDir)).ToArray());
            repairLine = $"exit {code}: " + FirstLine(output);
            (after, var afterLine) = Attempt(site, damage);
            if (after != DamageOutcome.Recovered) repairLine += " -> " + afterLine;
        }
        try { Directory.Delete(dir, true); } catch (IOException) { /* best effort */ }
        return new DamageResult(damage, outcome, line, seconds, after, repairLine);
    }

    (DamageOutcome, string) Attempt(DamageSite site, Damage damage)
    {
        int code;
        string output;
        try { (code, output) = ActorLabProcess.Run(Limit, ["sweep", "run", site.SweepFile, "--data-dir", site.DataDir, "--slots", "1"]); }
        catch (TimeoutException) { return (DamageOutcome.Hang, $"no answer within {Limit.TotalMinutes:0} min"); }
        if (output.Contains("\n   at ", StringComparison.Ordinal) || output.Contains("Unhandled exception", StringComparison.Ordinal))
            return (DamageOutcome.StackTrace, output.Split('\n').First(l => l.Contains("Exception", StringComparison.Ordinal)));
        if (code != 0)
            return output.Split('\n').FirstOrDefault(l => l.StartsWith("stderr: error:", StringComparison.Ordinal)) is { } error
                ? (DamageOutcome.Refused, error["stderr: ".Length..])
                : (DamageOutcome.FailedWithoutMessage, $"exit {code}: " + LastLines(output));
        var results = Results(site.DataDir);
        var differs = _expected.Where(e => !results.TryGetValue(e.Key, out var v) || v != e.Value).Select(e => e.Key).ToList();
        if (differs.Count > 0) return (DamageOutcome.WrongResult, "exit 0, but these differ from the undamaged sweep's: " + string.Join(", ", differs));
        if (damage.Check?.Invoke(site) is { } problem) return (DamageOutcome.WrongResult, "exit 0, but " + problem);
        var finished = output.Split('\n').LastOrDefault(l => l.Contains($"sweep {DamagedStates.SweepName} finished", StringComparison.Ordinal)) ?? "";
        return (DamageOutcome.Recovered, finished.Trim());
    }

    static string FirstLine(string output) => output.Split('\n').FirstOrDefault(l => l.Trim().Length > 0 && !l.StartsWith("log:", StringComparison.Ordinal))?.Trim() ?? "";
    static string LastLines(string output) => string.Join(" | ", output.Split('\n').Where(l => l.Trim().Length > 0).TakeLast(3));

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { /* best effort */ }
    }

    /// <summary>The table (markdown): one row per damage.</summary>
    public static string Table(IReadOnlyList<DamageResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| area | damage | start | first `sweep run` | after the repair it names | s | message |");
        sb.AppendLine("|---|---|---|---|---|---:|---|");
        foreach (var r in results)
            sb.AppendLine($"| {r.Damage.Area} | {r.Damage.Name} | {r.Damage.Start.ToString().ToLowerInvariant()} | {Name(r.Outcome)} | " +
                          $"{(r.AfterRepair is { } a ? Name(a) : "")} | {r.Seconds:F0} | {Cell(r.Line)}{(r.RepairLine is { } rl ? "; repair: " + Cell(rl) : "")} |");
        return sb.ToString();
    }

    public static string Name(DamageOutcome o) => o switch
    {
        DamageOutcome.Recovered => "recovered",
        DamageOutcome.Refused => "refused with a message",
        DamageOutcome.FailedWithoutMessage => "failed, no message",
        DamageOutcome.StackTrace => "stack trace",
        DamageOutcome.Hang => "hang",
        _ => "WRONG RESULT, exit 0",
    };

    static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ").Trim() is var t && t.Length > 300 ? t[..300] + "..." : s.Replace("|", "\\|").Replace("\n", " ").Trim();
}
