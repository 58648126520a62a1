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
    /// The full configuration of one process: overrides (flags), then the user file, then the defaults, with the
    /// journal and snapshot store pointed at SQLite files under the data directory.
    /// </summary>
    public static Akka.Configuration.Config Build(string? dataDir = null, string? userFile = null, string? extraHocon = null)
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
        Directory.CreateDirectory(dir);
        var db = Path.Combine(dir, "journal.db");
        // values are quoted (HoconText) and the connection string built by SQLite's own builder: no path is ever HOCON or SQL syntax
        var connection = HoconText.Quote(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = db }.ConnectionString);
        var derived = ConfigurationFactory.ParseString($$"""
            actorlab.data-dir = {{HoconText.Quote(dir)}}
            akka.persistence.journal.sql.connection-string = {{connection}}
            akka.persistence.snapshot-store.sql.connection-string = {{connection}}
            """);
        // the SQL journal's own reference settings (table mappings, plugin classes) sit under ours
        return derived.WithFallback(config).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }
}
