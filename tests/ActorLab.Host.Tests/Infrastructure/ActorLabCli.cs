using System.Diagnostics;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>Runs the real `actorlab` executable (the built actorlab.dll beside the tests) as a child process.</summary>
public static class ActorLabCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public int Exit => ExitCode;
        public string Out => Stdout;
        public string Err => Stderr;
    }

    public static Result Run(params string[] args) => RunWith(new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Run"/>, with these environment variables set for the child.</summary>
    public static Result RunWith(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var start = StartInfo(args);
        foreach (var (k, v) in env) start.Environment[k] = v;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"actorlab {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "actorlab-capacity-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>`dotnet actorlab.dll ARGS` (the built executable beside the tests) with stdout and stderr redirected.</summary>
    /// <param name="prefix">A command the executable runs under, e.g. ["ip", "netns", "exec", NAME].</param>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyList<string>? prefix = null)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        var dotnet = string.IsNullOrEmpty(host) ? "dotnet" : host;
        var psi = new ProcessStartInfo(prefix is { Count: > 0 } ? prefix[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (prefix is { Count: > 0 })
        {
            foreach (var a in prefix.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(dotnet);
        }
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "actorlab.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}
