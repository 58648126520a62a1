namespace ActorLab.Model.Common;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content, never a partial
/// file: write to a temp file in the same folder, flush to disk, then rename over the target. Only a regular file
/// (or a symbolic link to one, which keeps pointing at the new content) is ever replaced: a device, pipe, socket or
/// folder at the target is refused (<see cref="PathChecks.Replaceable"/>).
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write) => Write(path, write, null);

    /// <param name="unixMode">The file's mode from its creation on (e.g. 0600 for a private key), never wider for a moment.</param>
    public static void Write(string path, Action<Stream> write, UnixFileMode? unixMode)
    {
        var full = PathChecks.Replaceable(PathChecks.FullPath("output file", path));
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new UserInputException($"Output folder '{dir}' does not exist.");
        var tmp = TempFiles.Beside(full);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
            if (unixMode is { } m && !OperatingSystem.IsWindows()) options.UnixCreateMode = m;
            using (var fs = new FileStream(tmp, options))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(tmp);
            throw new UserInputException($"Cannot write '{full}': permission denied (is the folder read-only?).", e);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            TryDelete(tmp);
            throw new UserInputException($"Cannot write '{full}': {e.Message}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch { /* best effort */ }
    }
}
