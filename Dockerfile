# The operator's image. Build from the repository root:
#   docker build -t <registry>/housekeeper:0.1.0 .
# and set image.repository / image.tag in the Helm chart's values (or the image in deploy/kubectl).
# The runtime runs as the non-root user 10001 (the chart's runAsUser) on a read-only root filesystem:
# the JVM writes only to /tmp, an emptyDir in the chart.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src src
RUN mvn -B -q -Dmaven.test.skip=true package \
 && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib \
 && cp target/housekeeper-operator-*.jar target/housekeeper.jar

FROM eclipse-temurin:17-jre
LABEL org.opencontainers.image.title="housekeeper" \
      org.opencontainers.image.description="Kubernetes operator for ClickHouse: backups, migrations, retention, report marts"
WORKDIR /app
COPY --from=build /src/target/lib/ /app/lib/
COPY --from=build /src/target/housekeeper.jar /app/housekeeper.jar
USER 10001:10001
EXPOSE 8080
# the heap is a share of the container's memory limit; the chart sets the same through JAVA_TOOL_OPTIONS
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=60 -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError"
ENTRYPOINT ["java", "-cp", "/app/housekeeper.jar:/app/lib/*", "dev.housekeeper.operator.HousekeeperOperator"]
