using System.Diagnostics;
using Npgsql;

namespace ActorLab.Host.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL the journal tests run on: the server in $ACTORLAB_TEST_POSTGRES (a connection string; CI starts
/// one with build/postgres.sh), else one this test run starts itself with build/postgres.sh when Debian's server
/// binaries are installed. Where neither exists (a laptop without PostgreSQL) the tests skip with that reason;
/// with ACTORLAB_REQUIRE_POSTGRES=1 (CI) they fail instead. Each test gets a database of its own.
/// </summary>
public static class Postgres
{
    static readonly Lazy<(string? Admin, string Why)> Server = new(Start);

    static (string?, string) Start()
    {
        var given = Environment.GetEnvironmentVariable("ACTORLAB_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(given)) return (given, "");
        if (!PostgresServer.Installed) return (null, "no PostgreSQL: set ACTORLAB_TEST_POSTGRES or install Debian's postgresql");
        try
        {
            var server = PostgresServer.Start(Path.Combine(Path.GetTempPath(), $"actorlab-test-pg-{Environment.ProcessId}"));
            AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
            return (server.Connection, "");
        }
        catch (InvalidOperationException e)
        {
            return (null, e.Message);
        }
    }

    static bool Required => Environment.GetEnvironmentVariable("ACTORLAB_REQUIRE_POSTGRES") == "1";

    /// <summary>Skips (or, in CI, fails) when there is no server.</summary>
    public static void Require()
    {
        var (admin, why) = Server.Value;
        if (admin != null) return;
        if (Required) throw new InvalidOperationException($"PostgreSQL is required here (ACTORLAB_REQUIRE_POSTGRES=1): {why}");
        Skip.If(true, why);
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public static string NewDatabase()
    {
        Require();
        var admin = Server.Value.Admin!;
        var name = "actorlab_" + Guid.NewGuid().ToString("N")[..12];
        using (var c = new NpgsqlConnection(admin))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = false }.ConnectionString;
    }

    /// <summary>A query run by psql inside a network namespace (the test process cannot reach a server there).</summary>
    public static List<object?> QueryOn(string connection, NetworkNamespace ns, string sql)
    {
        var b = new NpgsqlConnectionStringBuilder(connection);
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", ns.Name, "psql", "-At", "-h", b.Host!, "-p", b.Port.ToString(), "-U", b.Username!, "-d", b.Database!, "-c", sql })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (object?)l).ToList();
    }

    /// <summary>Runs a query on a database and returns the first column of each row.</summary>
    public static List<object?> Query(string connection, string sql)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        using var r = cmd.ExecuteReader();
        var rows = new List<object?>();
        while (r.Read()) rows.Add(r.IsDBNull(0) ? null : r.GetValue(0));
        return rows;
    }
}
