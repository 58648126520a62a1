using System.Reflection;
using Akka.Configuration;
using ActorLab.Model.Common;

namespace ActorLab.Actors.Config;

/// <summary>
/// Loads `hocon/actorlab.conf` (embedded in this assembly, so it is found wherever the binary runs) and
/// layers an optional user file and per-process overrides on top, then derives the settings that depend on
/// the data directory (the SQLite journal's connection string).
/// </summary>
public static class ActorLabConfig
{
    static readonly Lazy<Akka.Configuration.Config> DefaultsLazy = new(() =>
    {
        using var stream = typeof(ActorLabConfig).Assembly.GetManifestResourceStream("actorlab.conf")
                           ?? throw new InvalidOperationException("actorlab.conf is not embedded in ActorLab.Actors");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    /// <summary>Every default, as written in hocon/actorlab.conf.</summary>
    public static Akka.Configuration.Config Defaults => DefaultsLazy.Value;

    /// <summary>Parses a HOCON file, turning syntax errors into a message that names the file.</summary>
    public static Akka.Configuration.Config ParseFile(string path)
    {
        PathChecks.InputFile("--config", path, "config file");
        if (new FileInfo(path).Length > HoconLint.MaxBytes)
            throw new UserInputException($"{path}: {new FileInfo(path).Length:N0} bytes is more than a HOCON file may have ({HoconLint.MaxBytes:N0}).");
        return ParseText(File.ReadAllText(path), path);
    }

    public static Akka.Configuration.Config ParseText(string text, string source)
    {
        HoconLint.Check(text, source);
        try
        {
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception e) when (e is not UserInputException)
        {
            throw new UserInputException($"{source}: not valid HOCON: {e.Message}");
        }
    }

    /// <summary>
    /// The full configuration of one process: overrides (flags, as HOCON built with <see cref="HoconText.Quote"/>), then the
    /// user file, then the defaults, with the journal and snapshot store set from `actorlab.journal`
    /// (<see cref="JournalSettings"/>): SQLite under the data dir, or PostgreSQL with the connection string from the
    /// environment or a file.
    /// </summary>
    /// <param name="createDataDir">Off: check the folder only; the caller creates it once every other check passed.</param>
    public static Akka.Configuration.Config Build(string? dataDir = null, string? userFile = null, string? extraHocon = null, bool createDataDir = true)
    {
        var config = Defaults;
        if (userFile != null)
        {
            var user = ParseFile(userFile);
            ConfigCheck.CheckUserFile(user, userFile);
            config = user.WithFallback(config);
        }
        if (extraHocon != null) config = ConfigurationFactory.ParseString(extraHocon).WithFallback(config);
        ConfigCheck.CheckValues(config, userFile ?? "configuration");
        var dir = PathChecks.OutputFolder("--data-dir", dataDir ?? config.GetString("actorlab.data-dir"));
        if (createDataDir) Directory.CreateDirectory(dir);
        config = ConfigurationFactory.ParseString($"actorlab.data-dir = {HoconText.Quote(dir)}").WithFallback(config);
        var journal = JournalSettings.From(config);
        // the SQL journal's own reference settings (table mappings, plugin classes) sit under ours
        return ConfigurationFactory.ParseString(journal.Hocon()).WithFallback(config).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }
}

/// <summary>
/// Which journal the coordinator persists to (`actorlab.journal`): `sqlite` (a file in the data dir, one machine)
/// or `postgresql` (a cluster: any coordinator-role node can take over). A PostgreSQL connection string never
/// sits in HOCON: it comes from the environment variable or the file named there.
/// </summary>
public sealed record JournalSettings(string Provider, string ConnectionString, bool AutoInitialize, string Description)
{
    public bool IsSqlite => Provider == "sqlite";

    public static JournalSettings From(Akka.Configuration.Config c)
    {
        var provider = c.GetString("actorlab.journal.provider", "sqlite");
        switch (provider)
        {
            case "sqlite":
                var db = Path.Combine(c.GetString("actorlab.data-dir"), "journal.db");
                // SQLite's own builder: no path is ever connection-string syntax
                var sqlite = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = db }.ConnectionString;
                return new JournalSettings(provider, sqlite, true, $"SQLite {db}");
            case "postgresql":
                var env = c.GetString("actorlab.journal.connection-string-env", "ACTORLAB_JOURNAL_CONNECTION");
                var file = c.GetString("actorlab.journal.connection-string-file", "");
                string? cs = null;
                if (file.Length > 0)
                {
                    if (!File.Exists(file)) throw new UserInputException($"actorlab.journal.connection-string-file: '{file}' does not exist.");
                    cs = File.ReadAllText(file).Trim();
                }
                else if (env.Length > 0) cs = Environment.GetEnvironmentVariable(env)?.Trim();
                if (string.IsNullOrEmpty(cs))
                    throw new UserInputException(
                        $"actorlab.journal.provider = postgresql needs a connection string: set ${env} or actorlab.journal.connection-string-file " +
                        "(e.g. \"Host=db;Port=5432;Database=actorlab;Username=actorlab;Password=...\").");
                Npgsql.NpgsqlConnectionStringBuilder parsed;
                try { parsed = new Npgsql.NpgsqlConnectionStringBuilder(cs); }
                catch (ArgumentException e) { throw new UserInputException($"the PostgreSQL connection string is not valid: {e.Message}"); }
                return new JournalSettings(provider, cs, c.GetBoolean("actorlab.journal.auto-initialize", false),
                    $"PostgreSQL {parsed.Host}:{parsed.Port}/{parsed.Database}");
            default:
                throw new UserInputException($"actorlab.journal.provider: '{provider}' is not sqlite or postgresql.");
        }
    }

    /// <summary>The persistence plugins' settings for this journal.</summary>
    public string Hocon()
    {
        var (name, mapping) = IsSqlite ? ("SQLite.MS", "sqlite") : ("PostgreSQL.15", "postgresql");
        var cs = HoconText.Quote(ConnectionString);
        var init = AutoInitialize ? "on" : "off";
        // the read journal (a run's history, RunHistory): a gap a killed coordinator left in the journal's ordering is
        // waited out for 4 x 250 ms before it is skipped, not the plugin's 10 x 1 s
        return $$"""
            akka.persistence.journal.sql { connection-string = {{cs}}, provider-name = "{{name}}", table-mapping = {{mapping}}, auto-initialize = {{init}} }
            akka.persistence.snapshot-store.sql { connection-string = {{cs}}, provider-name = "{{name}}", table-mapping = {{mapping}}, auto-initialize = {{init}} }
            akka.persistence.query.journal.sql { connection-string = {{cs}}, provider-name = "{{name}}", table-mapping = {{mapping}}, write-plugin = "akka.persistence.journal.sql", journal-sequence-retrieval { query-delay = 250ms, max-tries = 4 } }
            """;
    }
}
