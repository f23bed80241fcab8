FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY proxy proxy
COPY holds holds
RUN pip install --no-cache-dir .
EXPOSE 8080
CMD ["calproxy", "serve", "--host", "0.0.0.0", "--port", "8080"]
