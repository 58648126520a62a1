using System.Diagnostics;
using ActorLab.Model.Common;

namespace ActorLab.Model.Tests.Common;

/// <summary>What a path is, and writers that never replace anything but a regular file.</summary>
public class PathChecksTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("actorlab-paths-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    static bool MakeFifo(string path)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    [SkippableFact]
    public void Kinds_are_told_apart_without_following_the_final_link()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "device detection is Linux-only");
        var file = Path.Combine(dir, "f");
        File.WriteAllText(file, "x");
        var link = Path.Combine(dir, "link");
        File.CreateSymbolicLink(link, "/dev/null");
        Assert.Equal(PathKind.Regular, PathChecks.Kind(file));
        Assert.Equal(PathKind.Directory, PathChecks.Kind(dir));
        Assert.Equal(PathKind.Missing, PathChecks.Kind(Path.Combine(dir, "none")));
        Assert.Equal(PathKind.Missing, PathChecks.Kind(Path.Combine(file, "under-a-file")));
        Assert.Equal(PathKind.SymbolicLink, PathChecks.Kind(link));
        Assert.Equal(PathKind.Other, PathChecks.Kind("/dev/null"));
        var fifo = Path.Combine(dir, "fifo");
        Skip.IfNot(MakeFifo(fifo), "no mkfifo");
        Assert.Equal(PathKind.Other, PathChecks.Kind(fifo));
    }

    [SkippableFact]
    public void AtomicFile_refuses_a_pipe_and_a_link_to_a_device_and_leaves_them_alone()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "device detection is Linux-only");
        var toDevice = Path.Combine(dir, "to-dev-null");
        File.CreateSymbolicLink(toDevice, "/dev/null"); // a regression would replace the link, never the device
        var e = Assert.Throws<UserInputException>(() => AtomicFile.WriteAllText(toDevice, "data"));
        Assert.Contains("not a regular file", e.Message);
        Assert.Equal("/dev/null", new FileInfo(toDevice).LinkTarget);
        var fifo = Path.Combine(dir, "fifo");
        Skip.IfNot(MakeFifo(fifo), "no mkfifo");
        Assert.Throws<UserInputException>(() => AtomicFile.WriteAllText(fifo, "data"));
        Assert.Equal(PathKind.Other, PathChecks.Kind(fifo));
        Assert.Equal(["fifo", "to-dev-null"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void AtomicFile_through_a_link_to_a_file_writes_the_file_and_keeps_the_link()
    {
        var target = Path.Combine(dir, "target.txt");
        File.WriteAllText(target, "old");
        var link = Path.Combine(dir, "link.txt");
        File.CreateSymbolicLink(link, target);
        AtomicFile.WriteAllText(link, "new");
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(target, new FileInfo(link).LinkTarget);
    }

    [Fact]
    public void Output_checks_refuse_empty_values_files_as_folders_and_missing_folders_and_create_nothing()
    {
        Assert.Contains("--out is empty", Assert.Throws<UserInputException>(() => PathChecks.OutputFolder("--out", " ")).Message);
        var file = Path.Combine(dir, "f");
        File.WriteAllText(file, "x");
        Assert.Contains("is a file, not a folder", Assert.Throws<UserInputException>(() => PathChecks.OutputFolder("--out", file)).Message);
        Assert.Contains("is a folder", Assert.Throws<UserInputException>(() => PathChecks.OutputFile("--out", dir)).Message);
        Assert.Contains("does not exist", Assert.Throws<UserInputException>(() => PathChecks.OutputFile("--out", Path.Combine(dir, "no", "x.csv"))).Message);
        Assert.Equal(Path.Combine(dir, "a", "b"), PathChecks.OutputFolder("--out", Path.Combine(dir, "a", "b")));
        Assert.Equal(Path.Combine(dir, "a"), PathChecks.TopmostMissing(Path.Combine(dir, "a", "b")));
        Assert.Null(PathChecks.TopmostMissing(dir));
        Assert.Equal(["f"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }
}
