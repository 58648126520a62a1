using System.Text.RegularExpressions;

namespace ActorLab.Model.Common;

/// <summary>
/// The one naming rule for temp files and folders that are written, then renamed into place
/// (`.NAME.PID.GUID.tmp` beside the target), and the clean-up of the ones a killed writer left behind.
/// </summary>
public static partial class TempFiles
{
    /// <summary>A fresh temp path beside <paramref name="target"/>, in its folder (so the rename is atomic).</summary>
    public static string Beside(string target)
    {
        var full = Path.GetFullPath(target);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    [GeneratedRegex(@"^\..+\.(\d+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex Pattern();

    public static bool IsTemp(string name) => Pattern().IsMatch(name);

    static bool InsideCheckpoints(string dir) => Path.GetFileName(dir) == Training.Checkpoints.Folder;

    static bool Running(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }  // no such process
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>How long a temp entry on storage shared with other machines may be left before it counts as abandoned.</summary>
    public static readonly TimeSpan SharedMaxAge = TimeSpan.FromHours(6);

    /// <summary>
    /// Deletes the temp files and folders under <paramref name="root"/> that killed writers left behind; returns what
    /// was removed. On this machine's own folders a temp entry is abandoned when the process its name records is not
    /// running; on storage other machines write to as well (whose pids mean nothing here) when it is older than
    /// <see cref="SharedMaxAge"/>.
    /// </summary>
    /// <param name="skip">A folder under <paramref name="root"/> to leave alone (shared storage inside a node's data dir).</param>
    public static List<string> CleanUnder(string root, bool sharedWithOtherMachines, string? skip = null)
    {
        var removed = new List<string>();
        if (!Directory.Exists(root)) return removed;
        var cutoff = DateTime.UtcNow - SharedMaxAge;
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(dir).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            foreach (var path in entries)
            {
                var isDir = Directory.Exists(path) && !new FileInfo(path).Attributes.HasFlag(FileAttributes.ReparsePoint);
                if (Pattern().Match(Path.GetFileName(path)) is { Success: true } m)
                {
                    var abandoned = sharedWithOtherMachines
                        ? (isDir ? Directory.GetLastWriteTimeUtc(path) : File.GetLastWriteTimeUtc(path)) < cutoff
                        : !Running(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
                    if (!abandoned) continue;
                    try
                    {
                        if (isDir) Directory.Delete(path, recursive: true);
                        else File.Delete(path);
                        removed.Add(path);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* another time */ }
                }
                // a finished checkpoint is written whole and renamed into place: no temp is ever left inside one, so
                // the walk stays at the folders temps are written in (a run's checkpoints/ holds many files each)
                else if (isDir && !string.Equals(path, skip, StringComparison.Ordinal) && !InsideCheckpoints(dir)) pending.Push(path);
            }
        }
        return removed;
    }
}
