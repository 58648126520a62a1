using ActorLab.Host.Cli;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>What one in-process `actorlab` invocation returned and printed.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the `actorlab` CLI in-process (<see cref="CliApp.Run"/>) with Console output captured. Console is process-wide,
/// so runs are serialised with a lock and test classes using this should be in <see cref="CliCollection"/> (no
/// parallel runs of CLI tests). Usage: <c>var r = CliRunner.Run("profiles", "stats", file); Assert.Equal(0, r.ExitCode);</c>
/// </summary>
public static class CliRunner
{
    static readonly object Gate = new();

    public static CliResult Run(params string[] args)
    {
        lock (Gate)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var oldOut = Console.Out;
            var oldErr = Console.Error;
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                int code = CliApp.Run(args);
                return new CliResult(code, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }

    /// <summary>A fresh empty folder under the temp directory.</summary>
    public static string TempDir(string prefix = "actorlab-cli-tests")
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Asserts the user-error contract: exit 2, one `error: ...` line naming <paramref name="mention"/>, no stack trace.</summary>
    public static void AssertUserError(CliResult r, string mention)
    {
        Assert.True(r.ExitCode == CliApp.ExitUserError, r.ToString());
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(mention, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Exception", r.Stderr);
    }
}

/// <summary>CLI tests share the process Console: they must not run in parallel with each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "cli";
}
