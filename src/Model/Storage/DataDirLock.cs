using System.Text.Json;
using ActorLab.Model.Common;

namespace ActorLab.Model.Storage;

/// <summary>
/// One owner per data dir: a node or `sweep run` holds an exclusive lock on `owner.lock` for its whole life, so a
/// second process on the same folder (which would steal live leases, train the same run into the same files and
/// share the SQLite journal) is refused at once, naming the owner. The lock is the kernel's (flock through
/// FileShare.None), so it dies with its process: after kill -9 the next start takes it without any cleanup. Who
/// holds it is written beside it in `owner.json` (pid, host, command, since), read only to explain a refusal.
/// </summary>
public sealed class DataDirLock : IDisposable
{
    public const string LockFile = "owner.lock", OwnerFile = "owner.json";

    public sealed record Owner(int Pid, string Host, string Command, DateTimeOffset Since);

    readonly FileStream _lock;
    public string DataDir { get; }

    DataDirLock(string dataDir, FileStream held)
    {
        DataDir = dataDir;
        _lock = held;
    }

    /// <summary>Takes the data dir for this process, or throws naming the process that has it.</summary>
    public static DataDirLock Acquire(string dataDir, string command)
    {
        var dir = Path.GetFullPath(dataDir);
        Directory.CreateDirectory(dir);
        FileStream held;
        try
        {
            held = new FileStream(Path.Combine(dir, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UserInputException($"data dir '{dir}': cannot take {LockFile}: permission denied.", e);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new UserInputException($"data dir '{dir}' is in use by {Describe(ReadOwner(dir))}: " +
                                         "one node or `sweep run` per data dir (stop that one, or give this one another --data-dir).", e);
        }
        var me = new Owner(Environment.ProcessId, Environment.MachineName, command, DateTimeOffset.UtcNow);
        AtomicFile.WriteAllText(Path.Combine(dir, OwnerFile), JsonSerializer.Serialize(me));
        return new DataDirLock(dir, held);
    }

    /// <summary>Who wrote owner.json last; null when it is missing or unreadable (then the lock still says enough).</summary>
    public static Owner? ReadOwner(string dataDir)
    {
        try
        {
            return JsonSerializer.Deserialize<Owner>(File.ReadAllText(Path.Combine(dataDir, OwnerFile)));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    static string Describe(Owner? o) => o is null
        ? "another process (its owner.json is missing)"
        : $"pid {o.Pid} on {o.Host} (`{o.Command}`, since {o.Since:yyyy-MM-dd HH:mm:ss}Z)";

    public void Dispose() => _lock.Dispose();
}
