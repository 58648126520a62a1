using System.Runtime.InteropServices;

namespace ActorLab.Model.Common;

/// <summary>What a path names, without following a final symbolic link.</summary>
public enum PathKind { Missing, Regular, Directory, SymbolicLink, Other }

/// <summary>
/// Checks on the paths a command reads and writes, made before the work starts: a flag given as an empty string, a folder
/// that is a file, a folder that cannot be written (read-only, immutable, no permission), and targets that are not
/// regular files (a device such as /dev/full, a pipe, a socket) are refused with the flag and the path. Writers
/// (<see cref="AtomicFile"/>) use <see cref="Replaceable"/> so that nothing but a regular file is ever replaced.
/// </summary>
public static class PathChecks
{
    /// <summary>An output folder given by <paramref name="flag"/>: it may be missing (then its nearest existing
    /// ancestor must be a writable folder); nothing is created here. Returns the full path.</summary>
    public static string OutputFolder(string flag, string? value)
    {
        var full = FullPath(flag, value);
        switch (Kind(full))
        {
            case PathKind.Directory:
                RequireWritable(flag, full, full);
                return full;
            case PathKind.Missing:
                var ancestor = ExistingAncestor(flag, full);
                RequireWritable(flag, full, ancestor);
                return full;
            case PathKind.SymbolicLink when Directory.Exists(full):
                RequireWritable(flag, full, full);
                return full;
            default:
                throw new UserInputException($"{flag} '{value}' is {Describe(full)}, not a folder; give a folder.");
        }
    }

    /// <summary>An output file given by <paramref name="flag"/>: its folder must exist and be writable, and an
    /// existing target must be a regular file (it will be replaced). Returns the full path.</summary>
    public static string OutputFile(string flag, string? value)
    {
        var full = FullPath(flag, value);
        if (Path.EndsInDirectorySeparator(value!) || Kind(full) == PathKind.Directory)
            throw new UserInputException($"{flag} '{value}' is a folder; give a file name.");
        Replaceable(full, flag);
        var dir = Path.GetDirectoryName(full)!;
        if (Kind(dir) != PathKind.Directory && !Directory.Exists(dir))
            throw new UserInputException($"Output folder '{dir}' does not exist.");
        RequireWritable(flag, full, dir);
        return full;
    }

    /// <summary>An input file given by <paramref name="flag"/> (or named <paramref name="what"/>): it must exist and
    /// be a regular file (or a link to one); a folder, a device or a pipe (whose open would block) is refused.</summary>
    public static string InputFile(string flag, string? value, string what = "file")
    {
        var full = FullPath(flag, value);
        return Kind(FollowLink(full)) switch
        {
            PathKind.Regular => full,
            PathKind.Missing => throw new UserInputException($"{Capital(what)} '{value}' does not exist."),
            _ => throw new UserInputException($"{Capital(what)} '{value}' is {Describe(full)}, not a regular file."),
        };
    }

    /// <summary>An input folder: it must exist and be a folder.</summary>
    public static string InputFolder(string flag, string? value, string what = "folder")
    {
        var full = FullPath(flag, value);
        if (Directory.Exists(full)) return full;
        throw new UserInputException(Kind(full) == PathKind.Missing
            ? $"{Capital(what)} '{value}' does not exist."
            : $"{Capital(what)} '{value}' is {Describe(full)}, not a folder.");
    }

    static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    /// <summary>An input or state folder that must not be an empty string (e.g. --data-dir); returns the full path.</summary>
    public static string FullPath(string flag, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new UserInputException($"{flag} is empty; give a path.");
        if (value.IndexOf('\0') >= 0)
            throw new UserInputException($"{flag}: the path contains a NUL character.");
        try { return Path.GetFullPath(value); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UserInputException($"{flag} '{value}' is not a usable path: {e.Message}");
        }
    }

    /// <summary>
    /// The path a writer may replace for <paramref name="fullPath"/>: the path itself when it is missing or a
    /// regular file, the final target of a symbolic link to one; anything else (a folder, a device, a pipe, a socket)
    /// is refused, so that writing a result never replaces /dev/full or a FIFO with a plain file.
    /// </summary>
    public static string Replaceable(string fullPath, string? flag = null)
    {
        string path;
        try { path = FollowLink(fullPath); }
        catch (IOException) { throw new UserInputException($"{Name(flag, fullPath)} is a symbolic link that cannot be followed (a loop?)."); }
        var kind = Kind(path);
        if (kind is PathKind.Missing or PathKind.Regular) return path;
        throw new UserInputException($"{Name(flag, fullPath)} is {Describe(path)}; refusing to replace it with a file.");
    }

    /// <summary>What <paramref name="path"/> is (a final symbolic link is reported, not followed).</summary>
    public static PathKind Kind(string path)
    {
        if (OperatingSystem.IsLinux() && LinuxStat.TryKind(path, out var kind)) return kind;
        var info = new FileInfo(path);
        if (info.Exists || Directory.Exists(path))
        {
            if (info.LinkTarget != null) return PathKind.SymbolicLink;
            return Directory.Exists(path) ? PathKind.Directory : PathKind.Regular;
        }
        return info.LinkTarget != null ? PathKind.SymbolicLink : PathKind.Missing;
    }

    /// <summary>The topmost folder of <paramref name="path"/> that does not exist yet (what creating it would create), or null.</summary>
    public static string? TopmostMissing(string path)
    {
        string? missing = null;
        for (var p = Path.GetFullPath(path); p != null && Kind(p) == PathKind.Missing; p = Path.GetDirectoryName(p)) missing = p;
        return missing;
    }

    /// <summary>The final target of a symbolic link (or the path itself); a dangling link gives its missing target.</summary>
    static string FollowLink(string fullPath) =>
        Kind(fullPath) == PathKind.SymbolicLink
            ? System.IO.File.ResolveLinkTarget(fullPath, returnFinalTarget: true)?.FullName ?? fullPath
            : fullPath;

    static string Name(string? flag, string path) => flag == null ? $"'{path}'" : $"{flag} '{path}'";

    static string Describe(string path) => Kind(path) switch
    {
        PathKind.Directory => "a folder",
        PathKind.Regular => "a file",
        PathKind.SymbolicLink => "a symbolic link",
        PathKind.Missing => "missing",
        _ => "not a regular file (a device, pipe or socket)",
    };

    static string ExistingAncestor(string flag, string full)
    {
        for (var dir = Path.GetDirectoryName(full); dir != null; dir = Path.GetDirectoryName(dir))
        {
            var kind = Kind(dir);
            if (kind == PathKind.Missing) continue;
            if (kind == PathKind.Directory || Directory.Exists(dir)) return dir;
            throw new UserInputException($"{flag} '{full}': '{dir}' is {Describe(dir)}, not a folder.");
        }
        throw new UserInputException($"{flag} '{full}': no existing folder above it.");
    }

    /// <summary>Creates and deletes an empty probe file: the one test that also binds root (immutable folders, read-only mounts).</summary>
    static void RequireWritable(string flag, string target, string dir)
    {
        var probe = Path.Combine(dir, $".actorlab-write-probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            var why = e is UnauthorizedAccessException ? "permission denied (is the folder read-only?)" : e.Message;
            throw new UserInputException($"{flag} '{target}': cannot write in '{dir}': {why}");
        }
        finally
        {
            try { if (System.IO.File.Exists(probe)) System.IO.File.Delete(probe); } catch { /* best effort */ }
        }
    }

    /// <summary>lstat through statx(2) (the same struct layout on every Linux architecture).</summary>
    static unsafe class LinuxStat
    {
        const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxType = 0x1, ENOENT = 2, ENOTDIR = 20;
        static bool unavailable;

        [DllImport("libc.so.6", SetLastError = true, EntryPoint = "statx")]
        static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

        public static bool TryKind(string path, out PathKind kind)
        {
            kind = PathKind.Missing;
            if (unavailable) return false;
            try
            {
                byte* buffer = stackalloc byte[256];
                if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    return errno is ENOENT or ENOTDIR; // other errors: let the managed fallback decide
                }
                var mode = *(ushort*)(buffer + 28) & 0xF000; // stx_mode
                kind = mode switch { 0x8000 => PathKind.Regular, 0x4000 => PathKind.Directory, 0xA000 => PathKind.SymbolicLink, _ => PathKind.Other };
                return true;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                unavailable = true; // not glibc: fall back to FileInfo (no device detection)
                return false;
            }
        }
    }
}
