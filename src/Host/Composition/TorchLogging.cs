using System.Runtime.InteropServices;

namespace ActorLab.Host.Composition;

/// <summary>
/// libtorch prints its C++ warnings (c10's "[W file.cpp:N] Warning: ...") straight to stderr, between ActorLab's own
/// lines, where researchers read them as problems of their run. c10 takes its level from TORCH_CPP_LOG_LEVEL in the
/// native environment when the library loads, and .NET's Environment.SetEnvironmentVariable does not change that
/// environment on Unix, so the level is set with libc's setenv before anything touches torch. A level the user set
/// (TORCH_CPP_LOG_LEVEL=INFO to see everything) wins.
/// </summary>
public static class TorchLogging
{
    public const string Variable = "TORCH_CPP_LOG_LEVEL";
    public const string Level = "ERROR";

#pragma warning disable SYSLIB1054 // a plain DllImport: LibraryImport's generated code would need unsafe blocks here
    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    static extern IntPtr GetEnv(string name);
#pragma warning restore SYSLIB1054

    /// <summary>Sets the level unless the user did; call first thing in Main.</summary>
    public static void Quiet()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable))) return;
        if (OperatingSystem.IsWindows()) Environment.SetEnvironmentVariable(Variable, Level); // the CRT's own environment
        else SetEnv(Variable, Level, overwrite: 0);
    }

    /// <summary>The level as native code sees it (null when unset).</summary>
    public static string? Native() => OperatingSystem.IsWindows()
        ? Environment.GetEnvironmentVariable(Variable)
        : Marshal.PtrToStringUTF8(GetEnv(Variable));
}
