using System.Diagnostics;
using ActorLab.Host.Cli;
using ActorLab.Host.Tests.Infrastructure;

namespace ActorLab.Host.Tests.Robustness;

/// <summary>
/// What a bad invocation did, worst first: it hung (ran past the bound), aborted (killed by a signal, no message),
/// printed a stack trace, was accepted (exit 0), changed or created files in the sandbox, failed without one clear
/// error (wrong exit code, no or several `error:` lines, the culprit not named), or failed cleanly.
/// </summary>
public enum BadInputOutcome { Hang, Abort, StackTrace, Accepted, Damaged, UnclearError, CleanError, Skipped }

/// <summary>
/// One bad invocation of `actorlab`: arguments with sandbox placeholders ({p}, {ck}, {ro}, {fresh:NAME}, see
/// <see cref="BadInputSandbox"/>) and the culprit its error line must name. Most run in-process through
/// <see cref="CliApp.Run"/>; those that could take the process down if they regressed (a native abort, a blocking
/// open) run as a child process of the real executable.
/// </summary>
public sealed record BadInvocation(string Command, string Name, string[] Args, string Culprit)
{
    public bool InChildProcess { get; init; }
    /// <summary>"ro": needs a folder that refuses writes (chattr or a non-root user).</summary>
    public string? Requires { get; init; }
    public override string ToString() => $"{Command}: {Name}";
}

public sealed record BadInputResult(BadInvocation Case, BadInputOutcome Outcome, string Why, int ExitCode, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"{Case} -> {Outcome}: {Why} (exit {ExitCode}, {Elapsed.TotalSeconds:F1} s)\n  actorlab {string.Join(' ', Case.Args)}\n  stderr: {Stderr.Trim().Replace("\n", "\n          ")}";
}

public static class BadInputRunner
{
    static readonly object ConsoleGate = new();

    static int runs;

    /// <summary>
    /// Runs one case (<paramref name="isolated"/>: as a child process whatever the case says). Its {fresh:...} paths are
    /// its own, so that what one case leaves behind cannot change what the next one sees.
    /// </summary>
    public static BadInputResult Run(BadInvocation c, BadInputSandbox sandbox, TimeSpan timeout, bool isolated = false)
    {
        var id = Interlocked.Increment(ref runs);
        if (c.Requires == "ro" && !sandbox.ReadOnlyWorks)
            return new BadInputResult(c, BadInputOutcome.Skipped, "no folder refuses writes here (root without chattr)", 0, "", TimeSpan.Zero);
        var args = c.Args.Select(a => sandbox.Expand(a, id)).ToArray();
        var culprit = sandbox.Expand(c.Culprit, id);
        var before = sandbox.Snapshot();
        var sw = Stopwatch.StartNew();
        var (exit, stderr, hung, crash) = c.InChildProcess || isolated ? InChild(args, timeout, sandbox.Root) : InProcess(args, timeout);
        var elapsed = sw.Elapsed;
        var after = sandbox.Snapshot();
        BadInputResult R(BadInputOutcome o, string why) => new(c, o, why, exit, stderr, elapsed);

        if (hung) return R(BadInputOutcome.Hang, $"still running after {timeout.TotalSeconds:0} s");
        if (crash != null) return R(BadInputOutcome.StackTrace, $"unhandled {crash.GetType().Name}: {crash.Message}");
        bool trace = stderr.Contains("   at ") || stderr.Contains("Unhandled exception");
        if (exit is >= 128 or < 0 && !trace) return R(BadInputOutcome.Abort, $"killed with exit {exit} and no message");
        if (trace) return R(BadInputOutcome.StackTrace, "stack trace on stderr");
        if (exit == 0) return R(BadInputOutcome.Accepted, "exit 0");
        var changed = before.Where(kv => !after.TryGetValue(kv.Key, out var v) || v != kv.Value).Select(kv => "changed " + kv.Key)
            .Concat(after.Keys.Where(k => !before.ContainsKey(k)).Select(k => "created " + k)).ToList();
        if (changed.Count > 0) return R(BadInputOutcome.Damaged, string.Join(", ", changed.Take(3)));
        var errors = stderr.Split('\n').Where(l => l.StartsWith("error:")).ToList();
        if (exit != CliApp.ExitUserError) return R(BadInputOutcome.UnclearError, $"exit {exit}, not {CliApp.ExitUserError}");
        if (errors.Count != 1) return R(BadInputOutcome.UnclearError, $"{errors.Count} error lines");
        if (!errors[0].Contains(culprit, StringComparison.Ordinal)) return R(BadInputOutcome.UnclearError, $"the error does not name '{culprit}'");
        if (errors[0].Contains("Exception", StringComparison.Ordinal)) return R(BadInputOutcome.UnclearError, "the error names an exception type");
        if (stderr.Any(ch => char.IsControl(ch) && ch is not ('\n' or '\r' or '\t')) || stderr.Contains('\uFFFD'))
            return R(BadInputOutcome.UnclearError, "stderr carries control characters or undecodable bytes (echoed from a file or argument)");
        return R(BadInputOutcome.CleanError, errors[0]);
    }

    /// <summary>CliApp.Run on its own thread (8 MiB of stack, as a main thread has) with Console captured.</summary>
    static (int Exit, string Stderr, bool Hung, Exception? Crash) InProcess(string[] args, TimeSpan timeout)
    {
        lock (ConsoleGate)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            int exit = -1;
            Exception? crash = null;
            Console.SetOut(TextWriter.Synchronized(stdout));
            Console.SetError(TextWriter.Synchronized(stderr));
            try
            {
                var thread = new Thread(() =>
                {
                    try { exit = CliApp.Run(args); }
                    catch (Exception e) { crash = e; }
                }, maxStackSize: 8 << 20) { IsBackground = true };
                thread.Start();
                bool hung = !thread.Join(timeout);
                return (exit, stderr.ToString(), hung, crash);
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }

    /// <summary>The real executable, started in the sandbox so that a stray relative write shows up as a created file.</summary>
    static (int Exit, string Stderr, bool Hung, Exception? Crash) InChild(string[] args, TimeSpan timeout, string cwd)
    {
        var psi = ActorLabCli.StartInfo(args);
        psi.WorkingDirectory = cwd;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, stderr.Result, true, null);
        }
        return (p.ExitCode, stderr.Result, false, null);
    }

    /// <summary>Counts per command and outcome, as a markdown table (the first table of docs/robustness.md).</summary>
    public static string Table(IReadOnlyList<BadInputResult> results)
    {
        var outcomes = new[] { BadInputOutcome.CleanError, BadInputOutcome.UnclearError, BadInputOutcome.StackTrace, BadInputOutcome.Abort,
            BadInputOutcome.Hang, BadInputOutcome.Accepted, BadInputOutcome.Damaged, BadInputOutcome.Skipped };
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("| command | invocations | " + string.Join(" | ", outcomes.Select(Label)) + " |");
        sb.AppendLine("|---|---:|" + string.Concat(outcomes.Select(_ => "---:|")));
        foreach (var g in results.GroupBy(r => r.Case.Command))
            sb.AppendLine($"| {g.Key} | {g.Count()} | " + string.Join(" | ", outcomes.Select(o => g.Count(r => r.Outcome == o))) + " |");
        sb.AppendLine($"| **all {results.Select(r => r.Case.Command).Distinct().Count()} commands** | **{results.Count}** | " +
                      string.Join(" | ", outcomes.Select(o => $"**{results.Count(r => r.Outcome == o)}**")) + " |");
        return sb.ToString();
    }

    public static string Label(BadInputOutcome o) => o switch
    {
        BadInputOutcome.CleanError => "clean error",
        BadInputOutcome.UnclearError => "unclear error",
        BadInputOutcome.StackTrace => "stack trace",
        BadInputOutcome.Abort => "abort",
        BadInputOutcome.Hang => "hang",
        BadInputOutcome.Accepted => "accepted",
        BadInputOutcome.Damaged => "files changed",
        _ => "skipped",
    };
}
