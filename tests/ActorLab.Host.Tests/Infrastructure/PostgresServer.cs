using System.Diagnostics;
using Npgsql;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>A PostgreSQL server of a test's own (build/postgres.sh), which it can stop and start again on the same port.</summary>
public sealed class PostgresServer : IDisposable
{
    readonly string _dir;
    readonly int _port;

    PostgresServer(string dir, int port, string connection)
    {
        _dir = dir;
        _port = port;
        Connection = connection;
    }

    public string Connection { get; }

    static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static bool Installed =>
        Directory.Exists("/usr/lib/postgresql") && Directory.EnumerateDirectories("/usr/lib/postgresql").Any(d => File.Exists(Path.Combine(d, "bin", "initdb")));

    public static PostgresServer Start(string dir)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var port = FreePort();
        var connection = Script("start", dir, port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Trim();
        return new PostgresServer(dir, port, new NpgsqlConnectionStringBuilder(connection) { Pooling = false }.ConnectionString);
    }

    /// <summary>Stops the server (fast shutdown: open connections are cut).</summary>
    public void Stop() => Script("stop", _dir);

    /// <summary>Starts the stopped server again, on its port, with its data.</summary>
    public void Start()
    {
        var bin = Directory.EnumerateDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Order().Last();
        var args = new List<string>();
        if (Environment.UserName == "root") args.AddRange(["runuser", "-u", "postgres", "--"]);
        args.AddRange([Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(_dir, "data"), "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60", "-o",
            $"-c listen_addresses=127.0.0.1 -p {_port} -k {_dir} -c fsync=off -c max_connections=300", "start"]);
        Run(args);
    }

    static string Script(params string[] args) => Run(["bash", Repo.File("build/postgres.sh"), .. args]);

    static string Run(IReadOnlyList<string> command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)}: {error.Trim()}");
        return output;
    }

    public void Dispose()
    {
        try { Stop(); } catch { /* best effort */ }
    }
}

/// <summary>Files of the repository the tests run from.</summary>
public static class Repo
{
    public static string File(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, relative);
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "ActorLab.sln")) && (Directory.Exists(p) || System.IO.File.Exists(p))) return p;
        }
        throw new InvalidOperationException($"{relative} not found above {AppContext.BaseDirectory}");
    }
}

