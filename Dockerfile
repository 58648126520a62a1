# The actorlab image: one binary for every role (head/coordinator, trainer). Build with
#   docker build -t actorlab .                       (CPU: TorchSharp-cpu)
#   docker build --build-arg TORCH=cuda -t actorlab:cuda .   (GPU hosts: TorchSharp-cuda-linux)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH=cpu
WORKDIR /src
COPY . .
RUN dotnet publish src/Host -c Release -p:TorchBackend=${TORCH} -o /app

FROM mcr.microsoft.com/dotnet/runtime:10.0
# pg_isready for health checks of the journal, curl-free TCP probes via bash
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/data", "/storage"]
EXPOSE 4053
ENTRYPOINT ["dotnet", "/app/actorlab.dll"]
CMD ["--help"]
